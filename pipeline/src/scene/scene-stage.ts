import type { StageStats, Track, TrackEvent } from '@chronotrace/contracts';
import { createLogger, GroupWriter, type Bus, type BusMessage, type Consumer, type Logger, type SceneFrameRecord, type SceneRepository, type TrackSummaryRepository } from '@chronotrace/platform';
import { decodeRgb, type RgbImage } from '../attributes/rgb-image';
import type { SceneCore, SceneCoreStats } from './scene-core';
import type { KeyframeSink } from '../search/keyframe-indexer';
import { trackThumbnails } from './thumbnails';
import { TrackSummarizer, type SummaryToStore } from './track-summarizer';
import { inCaptureOrder, partitionDurable, SINGLE_PARTITION, type Partition } from './partition';

export const SCENE_DURABLE = 'scene';

export interface SceneStageOptions {
  bus: Bus;
  /** Where frames' tracks (for backtests) and tracks are kept (store.scene). */
  scene: SceneRepository;
  core: SceneCore;
  /** The cameras this replica owns. Default: all (one partition). */
  partition?: Partition;
  /** Scene frames older than this are pruned from the store. Default 72 h. */
  retentionMs?: number;
  /** Where per-track summaries and thumbnails go, for search (store.trackSummaries). Absent: none are kept. */
  summaries?: TrackSummaryRepository;
  /** Track summaries older than this are pruned. Default 30 days. */
  summaryRetentionMs?: number;
  /** Each stored best view (the crop) also goes here, to be embedded for similarity search (an embedder is on). */
  keyframes?: KeyframeSink;
  /** How often to prune. Default 10 min. */
  pruneEveryMs?: number;
  logger?: Logger;
}

export interface SceneCameraCounters {
  processed: number;
  /** Redelivered or out-of-order frames dropped by the tracker. */
  stale: number;
  publishFailures: number;
  storeFailures: number;
  /** Track summaries written (a live track is written again as it changes). */
  summaries: number;
  /** Person tracks announced to the re-ID stage (appeared, ended). */
  trackEvents: number;
}

export interface SceneStageStats {
  cameras: Record<string, SceneCameraCounters>;
  core: SceneCoreStats;
  consumer: ReturnType<Consumer['stats']> | null;
  decodeFailures: number;
}

export const DEFAULT_SCENE_RETENTION_MS = 72 * 3600_000;
export const DEFAULT_SUMMARY_RETENTION_MS = 30 * 86_400_000;
/** Frames' tracks (and tracks) are written in batches: at most this long after the first of a batch, or at this many. */
export const SCENE_WRITE_EVERY_MS = 250;
export const SCENE_WRITE_BATCH = 256;

/**
 * Bus adapter of the scene stage: consumes `frames.redacted` (durable 'scene', or one per partition:
 * tracking is stateful, so every frame of a camera must reach the same replica), tracks and names
 * colours with SceneCore, publishes `scene.<camera>` (the frame's JPEG and its tracks; msgId = frameId),
 * keeps the frame's tracks for backtests, then acks. Frames are taken in capture order per camera.
 */
export class SceneStage {
  private readonly log: Logger;
  private readonly partition: Partition;
  private consumer: Consumer | undefined;
  private closing: Promise<void> | undefined;
  private readonly counters = new Map<string, SceneCameraCounters>();
  private decodeFailures = 0;
  private timers: NodeJS.Timeout[] = [];
  private pending = new Set<Promise<unknown>>();
  /** Frames' tracks and tracks started or ended: one INSERT per batch, not per frame. */
  private readonly frameWriter: GroupWriter<SceneFrameRecord>;
  private readonly trackWriter: GroupWriter<{ track: Track; ended: boolean }>;
  private readonly summarizer = new TrackSummarizer();
  private readonly summaryWriter: GroupWriter<SummaryToStore> | null;
  /** The redacted frame of each live track's best view, until its thumbnail is stored. */
  private readonly bestFrames = new Map<string, { jpeg: Uint8Array; at: number }>();
  /** Cameras removed from the list: their late frames are acked unprocessed (ms epoch they were forgotten). */
  private readonly forgotten = new Map<string, number>();

  constructor(private readonly o: SceneStageOptions) {
    this.log = o.logger ?? createLogger('scene-stage');
    this.partition = o.partition ?? SINGLE_PARTITION;
    const batching = { lingerMs: SCENE_WRITE_EVERY_MS, maxBatch: SCENE_WRITE_BATCH };
    this.frameWriter = new GroupWriter((frames) => o.scene.appendFrames(frames), batching);
    this.trackWriter = new GroupWriter((tracks) => o.scene.upsertTracks(tracks), batching);
    const summaries = o.summaries;
    this.summaryWriter = summaries ? new GroupWriter((batch) => summaries.upsert(batch, Date.now()), batching) : null;
  }

  async start(): Promise<void> {
    this.consumer = await this.o.bus.consume(
      'frames.redacted',
      { durable: partitionDurable(SCENE_DURABLE, this.partition), batch: 64, deliverFrom: 'new', ackWaitMs: 10_000 },
      (messages) => this.handle(messages),
    );
    const sweep = setInterval(() => {
      const { ended, trackEvents } = this.o.core.sweep(Date.now());
      this.announce(trackEvents);
      for (const t of ended) this.track(this.trackWriter.add({ track: t, ended: true }), t.camera);
      this.writeSummaries(this.summarizer.end(ended.map((t) => t.id)));
    }, 30_000);
    const flush = setInterval(() => this.writeSummaries(this.summarizer.due(Date.now())), 1_000);
    flush.unref();
    this.timers.push(flush);
    const prune = setInterval(() => void this.prune(), this.o.pruneEveryMs ?? 600_000);
    sweep.unref();
    prune.unref();
    this.timers.push(sweep, prune);
    this.log.info({ partition: this.partition }, 'scene stage consuming frames.redacted');
  }

  private camera(id: string): SceneCameraCounters {
    let c = this.counters.get(id);
    if (!c) this.counters.set(id, (c = { processed: 0, stale: 0, publishFailures: 0, storeFailures: 0, summaries: 0, trackEvents: 0 }));
    return c;
  }

  /** Capture order per camera: the tracker drops a frame older than the last one it saw. */
  private handle(messages: BusMessage<'frames.redacted'>[]): Promise<void> {
    return inCaptureOrder(messages, this.partition, (m) => this.processOne(m), this.log, 'scene stage');
  }

  /** A camera was removed: its live tracks are dropped without summaries, and its frames ignored for 10 minutes. */
  forgetCamera(camera: string): void {
    const now = Date.now();
    for (const [id, at] of this.forgotten) if (now - at > 600_000) this.forgotten.delete(id);
    this.forgotten.set(camera, now);
    this.summarizer.forget(camera);
    this.o.core.forget(camera);
    for (const id of [...this.bestFrames.keys()]) if (id.startsWith(`${camera}:`)) this.bestFrames.delete(id);
  }

  private async processOne(m: BusMessage<'frames.redacted'>): Promise<void> {
    const { meta, body } = m.envelope;
    if (this.forgotten.has(m.camera)) {
      m.ack();
      return;
    }
    const counters = this.camera(m.camera);
    const started = Date.now();
    let image: RgbImage | null = null;
    if (body && this.o.core.wantsPixels(meta)) {
      try {
        image = await decodeRgb(body);
      } catch (err) {
        this.decodeFailures++;
        this.log.warn({ err, camera: m.camera, frameId: meta.frameId }, 'redacted frame could not be decoded: colours carried over');
      }
    }
    const result = this.o.core.process(meta, image, started);
    if (!result) {
      counters.stale++;
      m.ack();
      return;
    }
    const published = await this.o.bus.publish('scene', m.camera, { meta: { ...meta, scene: result.summary }, ...(body ? { body } : {}) }, { msgId: meta.frameId });
    if (!published.ok) {
      // The tracker has moved on: a redelivery would be stale. Live beats complete; count it.
      counters.publishFailures++;
      this.log.warn({ camera: m.camera, frameId: meta.frameId, reason: published.reason, detail: published.detail }, 'scene publish failed');
    }
    m.ack();
    counters.processed++;
    this.announce(result.trackEvents);
    this.track(this.frameWriter.add({ frameId: meta.frameId, camera: meta.camera, capturedAt: meta.capturedAt, width: meta.width, height: meta.height, tracks: result.summary.tracks }), m.camera);
    for (const t of result.started) this.track(this.trackWriter.add({ track: t, ended: false }), m.camera);
    for (const t of result.ended) this.track(this.trackWriter.add({ track: t, ended: true }), m.camera);
    if (this.summaryWriter) {
      const improved = this.summarizer.observe(meta, result.summary.tracks, result.summary.attributesFresh);
      if (body) for (const id of improved) this.bestFrames.set(id, { jpeg: body, at: meta.capturedAt });
      if (result.ended.length > 0) this.writeSummaries(this.summarizer.end(result.ended.map((t) => t.id)));
    }
  }

  /** Person tracks appearing and ending, to the re-ID stage (msgId: track and event, so a redelivery is not counted twice). */
  private announce(events: readonly TrackEvent[]): void {
    for (const e of events) {
      this.camera(e.camera).trackEvents++;
      this.track(
        this.o.bus.publish('tracks', e.camera, { meta: e }, { msgId: `${e.trackId}:${e.event}` }).then((r) => {
          if (r.ok) return;
          this.camera(e.camera).publishFailures++;
          this.log.warn({ camera: e.camera, trackId: e.trackId, reason: r.reason, detail: r.detail }, 'track event not published');
        }),
        e.camera,
      );
    }
  }

  /** Summaries to the store (batched), each with a thumbnail of its best view when that changed. */
  private writeSummaries(summaries: SummaryToStore[]): void {
    const writer = this.summaryWriter;
    const repo = this.o.summaries;
    if (!writer || !repo) return;
    for (const s of summaries) {
      this.camera(s.camera).summaries++;
      const written = writer.add(s);
      this.track(written, s.camera);
      const best = this.bestFrames.get(s.trackId);
      if (best && best.at === s.bestAt) {
        this.bestFrames.delete(s.trackId);
        this.track(
          trackThumbnails(best.jpeg, s.bestBox, { width: s.frameWidth, height: s.frameHeight }).then(async (t) => {
            await repo.putThumbnail({ trackId: s.trackId, camera: s.camera, capturedAt: s.bestAt, ...t });
            // Embedded once the summary is stored too (a vector never points at a track search cannot find); its failure is counted above.
            const stored = await written.then(
              () => true,
              () => false,
            );
            if (stored) this.o.keyframes?.offer({ trackId: s.trackId, camera: s.camera, at: s.bestAt, jpeg: t.crop });
          }),
          s.camera,
        );
      }
      if (s.ended) this.bestFrames.delete(s.trackId);
    }
  }

  /** Store writes run beside the live path; close() waits for them. A failure counts once per frame or track. */
  private track(p: Promise<unknown>, camera: string): void {
    const run = p
      .catch((err: unknown) => {
        this.camera(camera).storeFailures++;
        this.log.error({ err, camera }, 'scene not stored');
      })
      .finally(() => this.pending.delete(run));
    this.pending.add(run);
  }

  private async prune(): Promise<void> {
    try {
      const n = await this.o.scene.pruneFrames(Date.now() - (this.o.retentionMs ?? DEFAULT_SCENE_RETENTION_MS));
      if (n > 0) this.log.info({ frames: n }, 'pruned old scene frames');
      const before = Date.now() - (this.o.summaryRetentionMs ?? DEFAULT_SUMMARY_RETENTION_MS);
      const t = (await this.o.summaries?.prune(before)) ?? 0;
      if (t > 0) this.log.info({ tracks: t }, 'pruned old track summaries');
      const v = (await this.o.keyframes?.prune(before)) ?? 0;
      if (v > 0) this.log.info({ vectors: v }, 'pruned old keyframe vectors');
    } catch (err) {
      this.log.warn({ err }, 'could not prune scene frames');
    }
  }

  stats(): SceneStageStats {
    const cameras: Record<string, SceneCameraCounters> = {};
    for (const [k, v] of this.counters) cameras[k] = { ...v };
    return { cameras, core: this.o.core.toJSON(), consumer: this.consumer?.stats() ?? null, decodeFailures: this.decodeFailures };
  }

  stageCounters(): StageStats['cameras'] {
    const out: StageStats['cameras'] = {};
    for (const [k, v] of this.counters) out[k] = { processed: v.processed, skipped: 0, failures: 0 };
    return out;
  }

  /** Stops consuming, then waits for the store writes in flight. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const t of this.timers) clearInterval(t);
      const c = this.consumer;
      this.consumer = undefined;
      await c?.close();
      this.writeSummaries(this.summarizer.due(Date.now(), true));
      await Promise.all([this.frameWriter.flush(), this.trackWriter.flush(), this.summaryWriter?.flush()]);
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    })();
    return this.closing;
  }
}
