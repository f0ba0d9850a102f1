import type { AlertMessage, StageStats } from '@chronotrace/contracts';
import { coalescing, createLogger, type AlertRepository, type Bus, type BusMessage, type Consumer, type Logger, type QueryRepository, type SceneRepository } from '@chronotrace/platform';
import type { FrameSimilarity, FrameSimilarityStats } from '../embed/frame-similarity';
import type { SimilarityJudgement } from '../matching/track-matcher';
import type { MatchCore, MatchCoreStats } from '../matching/match-core';
import { inCaptureOrder, partitionDurable, SINGLE_PARTITION, type Partition } from '../scene/partition';

export const MATCH_DURABLE = 'match';

export interface MatchStageOptions {
  bus: Bus;
  queries: QueryRepository;
  alerts: AlertRepository;
  core: MatchCore;
  partition?: Partition;
  /** How often the armed queries are re-read when they changed (a cheap fingerprint query). Default 1000 ms. */
  queryRefreshMs?: number;
  /** The similarity term of queries that have one (an embedder is on). Absent: such queries never hold. */
  similarity?: FrameSimilarity;
  /** Where frame embeddings are kept for backtests (store.scene), with `similarity`. */
  scene?: SceneRepository;
  /** Called with every alert this replica fired (after it was stored and published). */
  onAlert?: (alert: AlertMessage) => void;
  logger?: Logger;
}

export interface MatchStageStats {
  core: MatchCoreStats;
  frames: number;
  alerts: number;
  storeFailures: number;
  publishFailures: number;
  /** Matcher time per frame, last frame (ms). */
  lastFrameMs: number;
  consumer: ReturnType<Consumer['stats']> | null;
  similarity: FrameSimilarityStats | null;
}

const STORE_TRIES = 3;

/**
 * Bus adapter of standing-query matching: consumes `scene.<camera>` (durable 'match', per partition),
 * evaluates armed queries on each frame's tracks, stores each alert with the frame's redacted JPEG as
 * its snapshot and publishes it on `alerts.<camera>` (msgId = alert id, the JPEG as body) at the same
 * time, then acks. Armed queries follow the
 * store: re-read when their fingerprint changes, or at once on refreshQueries().
 */
export class MatchStage {
  private readonly log: Logger;
  private readonly partition: Partition;
  private consumer: Consumer | undefined;
  private closing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private fingerprint = '';
  private readonly counters = new Map<string, number>();
  private frames = 0;
  private alerts = 0;
  private storeFailures = 0;
  private publishFailures = 0;
  private lastFrameMs = 0;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly o: MatchStageOptions) {
    this.log = o.logger ?? createLogger('match-stage');
    this.partition = o.partition ?? SINGLE_PARTITION;
  }

  async start(): Promise<void> {
    await this.refreshQueries();
    this.timer = setInterval(() => void this.refreshQueries(), this.o.queryRefreshMs ?? 1000);
    this.timer.unref();
    this.consumer = await this.o.bus.consume(
      'scene',
      { durable: partitionDurable(MATCH_DURABLE, this.partition), batch: 64, deliverFrom: 'new', ackWaitMs: 10_000 },
      (messages) => this.handle(messages),
    );
    this.log.info({ partition: this.partition, queries: this.o.core.size }, 'match stage consuming scene');
  }

  /** Re-reads the armed queries if they changed; concurrent calls coalesce. */
  readonly refreshQueries: () => Promise<void> = coalescing(async () => {
    try {
      const fp = await this.o.queries.fingerprint();
      if (fp === this.fingerprint) return;
      const list = await this.o.queries.list({ armed: true });
      const r = this.o.core.setQueries(list);
      let complete = true;
      if (this.o.similarity) {
        try {
          await this.o.similarity.setQueries(list);
        } catch (err) {
          // Left for the next refresh to retry (the fingerprint stays old): until then their term cannot hold.
          complete = false;
          this.log.error({ err }, 'could not embed the texts of similarity queries: retrying at the next refresh');
        }
      }
      if (complete) this.fingerprint = fp;
      for (const bad of r.rejected) this.log.error({ query: bad.id, error: bad.error }, 'stored query cannot be armed: skipped');
      this.log.debug({ armed: r.armed }, 'armed queries updated');
    } catch (err) {
      this.log.warn({ err }, 'could not read the standing queries; keeping the armed set');
    }
  });

  private handle(messages: BusMessage<'scene'>[]): Promise<void> {
    return inCaptureOrder(messages, this.partition, (m) => this.processOne(m), this.log, 'match stage');
  }

  private async processOne(m: BusMessage<'scene'>): Promise<void> {
    const { meta, body } = m.envelope;
    const similarity = await this.judge(m);
    const t0 = performance.now();
    const alerts = this.o.core.evaluate(meta, body !== undefined && body.length > 0, Date.now(), similarity);
    this.lastFrameMs = performance.now() - t0;
    this.frames++;
    this.counters.set(m.camera, (this.counters.get(m.camera) ?? 0) + 1);
    for (const alert of alerts) {
      // Published (with its snapshot as the body, for the wall) and stored at once: an alert waits for neither.
      const [stored, r] = await Promise.all([
        this.store(alert, body ?? null),
        this.o.bus.publish('alerts', alert.camera, { meta: alert, ...(body ? { body } : {}) }, { msgId: alert.id }),
      ]);
      if (!r.ok) {
        this.publishFailures++;
        this.log.error({ alert: alert.id, camera: alert.camera, reason: r.reason, detail: r.detail, stored }, 'alert not published');
      }
      this.alerts++;
      this.log.info({ alert: alert.id, query: alert.queryId, camera: alert.camera, frameId: alert.frameId, reason: alert.reason }, 'alert');
      this.o.onAlert?.(alert);
    }
    m.ack();
  }

  /** The frame's similarity judgements when a query with a similarity term covers its camera. */
  private async judge(m: BusMessage<'scene'>): Promise<ReadonlyMap<string, SimilarityJudgement> | undefined> {
    const sim = this.o.similarity;
    const { meta, body } = m.envelope;
    if (!sim || !this.o.core.isNewer(meta) || !this.o.core.wantsSimilarity(m.camera)) return undefined;
    try {
      const r = await sim.judge(m.camera, meta.frameId, meta.capturedAt, body);
      if (r?.embedded && this.o.scene) {
        const e = r.embedded;
        const write = this.o.scene
          .appendEmbedding(e)
          .catch((err: unknown) => this.log.warn({ err, camera: e.camera, frameId: e.frameId }, 'frame embedding not stored'))
          .finally(() => this.pending.delete(write));
        this.pending.add(write);
      }
      return r?.judgements;
    } catch (err) {
      this.log.warn({ err, camera: m.camera, frameId: meta.frameId }, 'frame not embedded: similarity terms do not hold on it');
      return new Map();
    }
  }

  /** Stores an alert, retrying a little: the matcher has fired and will not fire it again. */
  private async store(alert: AlertMessage, snapshot: Uint8Array | null): Promise<boolean> {
    for (let i = 1; ; i++) {
      try {
        await this.o.alerts.append(alert, snapshot);
        return true;
      } catch (err) {
        if (i >= STORE_TRIES) {
          this.storeFailures++;
          this.log.error({ err, alert: alert.id, camera: alert.camera }, 'alert not stored; still sent live');
          return false;
        }
        await new Promise((r) => setTimeout(r, 100 * i));
      }
    }
  }

  stats(): MatchStageStats {
    return {
      core: this.o.core.toJSON(),
      frames: this.frames,
      alerts: this.alerts,
      storeFailures: this.storeFailures,
      publishFailures: this.publishFailures,
      lastFrameMs: this.lastFrameMs,
      consumer: this.consumer?.stats() ?? null,
      similarity: this.o.similarity?.toJSON() ?? null,
    };
  }

  stageCounters(): StageStats['cameras'] {
    const out: StageStats['cameras'] = {};
    for (const [k, v] of this.counters) out[k] = { processed: v, skipped: 0, failures: 0 };
    return out;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      const c = this.consumer;
      this.consumer = undefined;
      await c?.close();
      await this.refreshQueries();
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    })();
    return this.closing;
  }
}
