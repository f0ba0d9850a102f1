import type { PrivacySettings, StageStats } from '@chronotrace/contracts';
import { createLogger, GroupWriter, type Bus, type BusMessage, type Consumer, type Logger, type RedactionRecord, type RedactionRepository } from '@chronotrace/platform';
import type { PrivacyCoreStats, PrivacyFrame } from './privacy-core';
import type { PrivacyProcessor } from './privacy-core-pool';

/** Durable consumer name shared by all privacy replicas. */
export const PRIVACY_DURABLE = 'privacy';
/** Frames handed to one handler call; only the newest per camera is processed. */
export const DEFAULT_PRIVACY_BATCH = 256;
/** Redelivery delay after a failed publish or store write. */
export const DEFAULT_PRIVACY_RETRY_DELAY_MS = 500;
/**
 * Frames of a camera waiting while one of its frames is being redacted. Three absorb an analysis frame
 * (≈ 100 ms) at a 10 fps video rate; a camera further behind skips its oldest frames to stay live.
 */
export const DEFAULT_PRIVACY_QUEUE_PER_CAMERA = 3;
/** Frames of one camera redacted at once (published in capture order). */
export const DEFAULT_PRIVACY_IN_FLIGHT_PER_CAMERA = 3;

export interface PrivacyStageOptions {
  bus: Bus;
  /** Audit trail of redactions (store.redactions). */
  redactions: RedactionRepository;
  /** The detector+redactor core (or a PrivacyCorePool); the stage owns it and closes it. */
  core: PrivacyProcessor;
  /** Privacy settings of a camera, read per frame (so config changes apply at once). */
  settingsFor: (camera: string) => PrivacySettings;
  /** The camera's analysis rate (frames a second the detectors run on). Default: the core's own interval. */
  analysisFpsFor?: (camera: string) => number | undefined;
  /** Whether a camera is a recorded video (an upload: every due analysis runs, whatever the load). */
  recordedFor?: (camera: string) => boolean;
  /** Durable name. Default PRIVACY_DURABLE ('privacy'). */
  durable?: string;
  /** Only these cameras. Default: all. */
  cameras?: string[];
  /**
   * Partitioned by camera: no shared consumer at start; the cameras given to own() each get their own
   * durable (`<durable>-<camera>`), so one process holds a camera's perception state at a time. Default false.
   */
  partitioned?: boolean;
  /** Default DEFAULT_PRIVACY_BATCH (16). */
  batch?: number;
  /** Bus ack wait; must exceed the core's timeout. Default: the bus default (10 s). */
  ackWaitMs?: number;
  /** Where frames start: 'new' (default, live) or 'all' kept in the stream. */
  deliverFrom?: 'new' | 'all';
  /** Default DEFAULT_PRIVACY_RETRY_DELAY_MS (500). */
  retryDelayMs?: number;
  /** Frames of one camera waiting at most; when more arrive the oldest is skipped. Default DEFAULT_PRIVACY_QUEUE_PER_CAMERA (3). */
  queuePerCamera?: number;
  /**
   * Frames of one camera redacted side by side (they still leave in capture order). Default
   * DEFAULT_PRIVACY_IN_FLIGHT_PER_CAMERA (3): a 10 fps camera keeps up while each frame waits its
   * turn for the decoders and encoders.
   */
  inFlightPerCamera?: number;
  logger?: Logger;
}

/** Per-camera counters, for camera health. */
export interface PrivacyCameraCounters {
  /** Redacted and published. */
  processed: number;
  /** Acked without processing: the camera fell behind (more than queuePerCamera frames waiting) or the frame was stale. */
  skipped: number;
  /** Dropped because redaction failed or timed out (fail closed: never passed on raw). */
  redactionFailures: number;
  /** Publish or store failures (the frame is redelivered). */
  publishFailures: number;
  /** Processed frames the object detector ran on. */
  objectRuns: number;
  /** Processed frames whose object detection was skipped by motion gating (the camera's last detections reused). */
  motionSkipped: number;
}

export interface PrivacyStageStats {
  cameras: Record<string, PrivacyCameraCounters>;
  inFlight: number;
  core: PrivacyCoreStats;
  consumer: ReturnType<Consumer['stats']> | null;
}

/**
 * How long a frame's audit record waits for other frames' records to share one INSERT (the frame is
 * published only once its record is stored): ≈ 1 ms of CPU per statement on the embedded store against
 * ≈ 0.1–0.2 ms per record in a batch.
 */
export const REDACTION_RECORD_LINGER_MS = 10;

/**
 * Bus adapter of the privacy boundary: consumes `frames.raw` (durable 'privacy', shared by replicas),
 * queues each camera's frames in capture order (its newest few: live beats complete), redacts them one
 * camera-frame at a time with PrivacyCore,
 * records the redaction in the store, publishes `frames.redacted` (msgId = frameId, so a redelivery is
 * deduplicated), then acks. A frame that cannot be redacted is acked and counted, never passed on raw;
 * a frame whose publish or store write failed is nak'ed for redelivery.
 */
export class PrivacyStage {
  private readonly o: Required<Omit<PrivacyStageOptions, 'cameras' | 'ackWaitMs' | 'logger' | 'analysisFpsFor' | 'recordedFor'>> & Pick<PrivacyStageOptions, 'cameras' | 'ackWaitMs'>;
  private readonly analysisFpsFor: PrivacyStageOptions['analysisFpsFor'];
  private readonly recordedFor: PrivacyStageOptions['recordedFor'];
  private readonly log: Logger;
  private consumer: Consumer | undefined;
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly counters = new Map<string, PrivacyCameraCounters>();
  private inFlight = 0;
  /** Each camera's frames waiting, in capture order (at most queuePerCamera: older ones are skipped). */
  private readonly waiting = new Map<string, BusMessage<'frames.raw'>[]>();
  /** Frames of each camera being redacted now (at most inFlightPerCamera). */
  private readonly busy = new Map<string, number>();
  /** Per camera, the publish of its latest started frame: frames are redacted side by side but leave in order. */
  private readonly turns = new Map<string, Promise<void>>();
  /** Capture time of the newest frame started per camera. */
  private readonly startedAt = new Map<string, number>();
  /** When each camera last got a core (a dispatch counter), for taking cameras in turn. */
  private readonly lastServed = new Map<string, number>();
  private serveCount = 0;
  /** Frames being redacted now, at most the core's capacity. */
  private readonly active = new Set<Promise<void>>();
  /** The same, per camera (to let a camera's frames finish before it is given up). */
  private readonly activeByCamera = new Map<string, Set<Promise<void>>>();
  /** Partitioned mode: each owned camera's consumer. */
  private readonly cameraConsumers = new Map<string, Consumer>();
  /** Partitioned mode: the cameras own() was last given (frames of others are left to their owner). */
  private wanted = new Set<string>();
  /** own() calls, one after another. */
  private owning: Promise<void> = Promise.resolve();
  /** Audit records, group-committed: the frames redacted while one write is in flight share the next. */
  private readonly redactionWriter: GroupWriter<RedactionRecord>;

  constructor(options: PrivacyStageOptions) {
    this.o = {
      bus: options.bus,
      redactions: options.redactions,
      core: options.core,
      settingsFor: options.settingsFor,
      durable: options.durable ?? PRIVACY_DURABLE,
      partitioned: options.partitioned ?? false,
      cameras: options.cameras,
      batch: options.batch ?? DEFAULT_PRIVACY_BATCH,
      ackWaitMs: options.ackWaitMs,
      deliverFrom: options.deliverFrom ?? 'new',
      retryDelayMs: options.retryDelayMs ?? DEFAULT_PRIVACY_RETRY_DELAY_MS,
      queuePerCamera: options.queuePerCamera ?? DEFAULT_PRIVACY_QUEUE_PER_CAMERA,
      inFlightPerCamera: options.inFlightPerCamera ?? DEFAULT_PRIVACY_IN_FLIGHT_PER_CAMERA,
    };
    this.redactionWriter = new GroupWriter((records) => this.o.redactions.append(records), { lingerMs: REDACTION_RECORD_LINGER_MS });
    if (!Number.isInteger(this.o.queuePerCamera) || this.o.queuePerCamera < 1) throw new RangeError(`queuePerCamera must be an integer ≥ 1, got ${this.o.queuePerCamera}`);
    this.analysisFpsFor = options.analysisFpsFor;
    this.recordedFor = options.recordedFor;
    this.log = options.logger ?? createLogger('privacy-stage', { durable: this.o.durable });
  }

  /** Loads the models, then starts consuming. Idempotent. */
  start(): Promise<void> {
    if (this.closing) return Promise.reject(new Error('privacy stage is closed'));
    this.starting ??= (async () => {
      await this.o.core.start();
      if (this.closing) return;
      if (this.o.partitioned) {
        this.log.info('privacy stage ready: cameras are consumed as they are owned');
        return;
      }
      this.consumer = await this.o.bus.consume(
        'frames.raw',
        {
          durable: this.o.durable,
          batch: this.o.batch,
          deliverFrom: this.o.deliverFrom,
          ...(this.o.cameras ? { cameras: this.o.cameras } : {}),
          ...(this.o.ackWaitMs !== undefined ? { ackWaitMs: this.o.ackWaitMs } : {}),
        },
        (messages) => this.handle(messages),
      );
      this.log.info({ cameras: this.o.cameras ?? 'all' }, 'privacy stage consuming frames.raw');
    })();
    return this.starting;
  }

  private camera(camera: string): PrivacyCameraCounters {
    let c = this.counters.get(camera);
    if (!c) {
      c = { processed: 0, skipped: 0, redactionFailures: 0, publishFailures: 0, objectRuns: 0, motionSkipped: 0 };
      this.counters.set(camera, c);
    }
    return c;
  }

  /**
   * Takes what the bus has pending and returns at once, so the consumer keeps fetching: each camera's
   * frames wait in capture order, at most queuePerCamera of them (older ones are skipped), so latency
   * stays bounded whatever the backlog.
   */
  private async handle(messages: BusMessage<'frames.raw'>[]): Promise<void> {
    // Closing: leave them unacked; closing the consumer hands them back to the other replicas.
    if (this.closing) return;
    for (const m of messages) {
      // A camera just given up: its frames stay unacked and go back to its durable for the next owner.
      if (this.o.partitioned && !this.wanted.has(m.camera)) continue;
      const queue = this.waiting.get(m.camera) ?? [];
      // In capture order; a frame older than one this camera already started is stale.
      if (capturedAt(m) < (this.startedAt.get(m.camera) ?? -Infinity)) {
        this.skip(m);
        continue;
      }
      let i = queue.length;
      while (i > 0 && capturedAt(queue[i - 1] as BusMessage<'frames.raw'>) > capturedAt(m)) i--;
      queue.splice(i, 0, m);
      // Live beats complete: a camera that fell behind keeps only its newest few frames. Not a recorded
      // video: every frame of it is redacted (its sender paces itself on what was redacted).
      if (!this.recordedFor?.(m.camera)) while (queue.length > this.o.queuePerCamera) this.skip(queue.shift() as BusMessage<'frames.raw'>);
      this.waiting.set(m.camera, queue);
    }
    this.pump();
  }

  private skip(m: BusMessage<'frames.raw'>): void {
    m.ack();
    this.camera(m.camera).skipped++;
  }

  /**
   * Starts waiting frames while the core has capacity: up to inFlightPerCamera frames of a camera at a
   * time, planned in capture order (so each sees the regions its predecessor carried) and published in
   * capture order, cameras in turn: the camera served longest ago goes first (capture time breaks ties). Picking the oldest
   * frame instead starves the cameras whose frames arrive just before a core frees up.
   */
  private pump(): void {
    const capacity = this.o.core.capacity ?? 1;
    while (this.active.size < capacity && !this.closing) {
      let next: BusMessage<'frames.raw'> | undefined;
      for (const [camera, queue] of this.waiting) {
        const m = queue[0];
        // A recorded video one frame at a time: each frame then sees exactly what its predecessor found, so
        // what an upload yields does not depend on the machine's load (a live camera overlaps frames to keep up).
        if (!m || (this.busy.get(camera) ?? 0) >= (this.recordedFor?.(camera) ? 1 : this.o.inFlightPerCamera)) continue;
        if (!next) next = m;
        else {
          const a = this.lastServed.get(m.camera) ?? 0;
          const b = this.lastServed.get(next.camera) ?? 0;
          if (a < b || (a === b && capturedAt(m) < capturedAt(next))) next = m;
        }
      }
      if (!next) return;
      const m = next;
      const queue = this.waiting.get(m.camera) as BusMessage<'frames.raw'>[];
      queue.shift();
      if (queue.length === 0) this.waiting.delete(m.camera);
      this.busy.set(m.camera, (this.busy.get(m.camera) ?? 0) + 1);
      // This frame publishes after the camera's previous one (capture order), whichever finishes first.
      const previous = this.turns.get(m.camera) ?? Promise.resolve();
      let done: () => void = () => undefined;
      const turn = new Promise<void>((r) => (done = r));
      this.turns.set(m.camera, turn);
      this.startedAt.set(m.camera, capturedAt(m));
      this.lastServed.set(m.camera, ++this.serveCount);
      const run: Promise<void> = this.processOne(m, previous)
        .catch((err: unknown) => {
          this.log.error({ err, camera: m.camera }, 'privacy stage failed on a frame: redelivered');
          m.nak(this.o.retryDelayMs);
        })
        .finally(() => {
          done();
          if (this.turns.get(m.camera) === turn) this.turns.delete(m.camera);
          this.active.delete(run);
          const n = (this.busy.get(m.camera) ?? 1) - 1;
          if (n > 0) this.busy.set(m.camera, n);
          else this.busy.delete(m.camera);
          this.pump();
        });
      this.active.add(run);
      let mine = this.activeByCamera.get(m.camera);
      if (!mine) this.activeByCamera.set(m.camera, (mine = new Set()));
      mine.add(run);
      void run.finally(() => {
        mine.delete(run);
        if (mine.size === 0 && this.activeByCamera.get(m.camera) === mine) this.activeByCamera.delete(m.camera);
      });
    }
  }

  private async processOne(m: BusMessage<'frames.raw'>, previous: Promise<void>): Promise<void> {
    this.inFlight++;
    const counters = this.camera(m.camera);
    try {
      const { meta, body } = m.envelope;
      if (!body || body.length === 0) {
        counters.redactionFailures++;
        this.log.warn({ camera: m.camera, frameId: meta.frameId }, 'raw frame without a body: dropped');
        m.term();
        return;
      }
      let settings: PrivacySettings;
      try {
        settings = this.o.settingsFor(m.camera);
      } catch (err) {
        // No settings, no frame: fail closed rather than guess.
        counters.redactionFailures++;
        this.log.error({ err, camera: m.camera }, 'no privacy settings for camera: frame dropped');
        m.ack();
        return;
      }
      const analysisFps = this.analysisFpsFor?.(m.camera);
      const frame: PrivacyFrame = analysisFps && analysisFps > 0 ? { meta, jpeg: body, analysisIntervalMs: 1000 / analysisFps } : { meta, jpeg: body };
      if (this.recordedFor?.(m.camera)) frame.recorded = true;
      const result = await this.o.core.process(frame, settings);
      if (!result.ok && result.reason === 'held-back') {
        // Under load with regions too old to trust: not shown (and never raw). Counted as skipped.
        this.skip(m);
        return;
      }
      if (!result.ok) {
        counters.redactionFailures++;
        m.ack();
        return;
      }
      // The camera's previous frame leaves first (a failed one too: it no longer holds its turn).
      await previous;
      // Record first, then publish: a replica dying between the two leaves a record of a frame never shown
      // (harmless), never a shown frame without its record (redelivered frames may be skipped as stale).
      const r = result.meta.redaction;
      try {
        await this.redactionWriter.add({
          frameId: meta.frameId,
          camera: meta.camera,
          capturedAt: meta.capturedAt,
          redactedAt: r.redactedAt,
          faces: r.faces,
          plates: r.plates,
          heads: r.heads,
          method: r.method,
          models: r.models,
          ms: r.ms,
        });
      } catch (err) {
        // No frame leaves the boundary without its audit record: redeliver (append is idempotent).
        counters.publishFailures++;
        this.log.error({ err, camera: m.camera, frameId: meta.frameId }, 'redaction record not stored: frame redelivered');
        m.nak(this.o.retryDelayMs);
        return;
      }
      const published = await this.o.bus.publish('frames.redacted', m.camera, { meta: result.meta, body: result.jpeg }, { msgId: meta.frameId });
      if (!published.ok) {
        counters.publishFailures++;
        this.log.warn({ camera: m.camera, frameId: meta.frameId, reason: published.reason, detail: published.detail }, 'publish of redacted frame failed');
        // A redacted frame too large for the bus never will fit: drop it (it is not raw, but it cannot travel).
        if (published.reason === 'too-large') m.term();
        else m.nak(this.o.retryDelayMs);
        return;
      }
      m.ack();
      counters.processed++;
      if (r.motion.ran) counters.objectRuns++;
      else if (r.motion.reason !== 'off') counters.motionSkipped++;
    } finally {
      this.inFlight--;
    }
  }

  /**
   * Partitioned mode: consume exactly these cameras. A camera given up first stops being consumed (frames
   * already started finish and are acked, waiting ones go back unacked to its durable for the next owner);
   * a new camera's durable is joined where it stands (its backlog is at most the raw stream's few seconds,
   * of which only the newest queuePerCamera frames are redacted). Calls are applied one after another.
   */
  own(cameras: ReadonlySet<string>): Promise<void> {
    const run = this.owning.then(async () => {
      if (this.closing || !this.o.partitioned) return;
      this.wanted = new Set(cameras);
      for (const [camera, consumer] of [...this.cameraConsumers]) {
        if (cameras.has(camera)) continue;
        this.cameraConsumers.delete(camera);
        this.waiting.delete(camera);
        const mine = [...this.activeByCamera.get(camera) ?? []];
        await Promise.allSettled(mine);
        await consumer.close();
        this.log.info({ camera }, 'camera given up');
      }
      for (const camera of cameras) {
        if (this.cameraConsumers.has(camera) || this.closing) continue;
        const consumer = await this.o.bus.consume(
          'frames.raw',
          {
            durable: `${this.o.durable}-${camera}`,
            cameras: [camera],
            batch: this.o.batch,
            deliverFrom: this.o.deliverFrom,
            // A removed camera's durable must not outlive it for long.
            expireAfterIdleMs: 10 * 60_000,
            ...(this.o.ackWaitMs !== undefined ? { ackWaitMs: this.o.ackWaitMs } : {}),
          },
          (messages) => this.handle(messages),
        );
        this.cameraConsumers.set(camera, consumer);
        this.log.info({ camera }, 'camera owned');
      }
    });
    this.owning = run.catch((err: unknown) => this.log.error({ err }, 'could not change the cameras consumed'));
    return run;
  }

  /** The cameras consumed now (partitioned mode). */
  owned(): string[] {
    return [...this.cameraConsumers.keys()].sort();
  }

  /** Counters per camera. */
  stats(): PrivacyStageStats {
    const cameras: Record<string, PrivacyCameraCounters> = {};
    for (const [k, v] of this.counters) cameras[k] = { ...v };
    return { cameras, inFlight: this.inFlight, core: this.o.core.toJSON(), consumer: this.consumer?.stats() ?? null };
  }

  /** The per-camera counters in the shape StageStatsPublisher publishes (failures = redaction failures). */
  stageCounters(): StageStats['cameras'] {
    const out: StageStats['cameras'] = {};
    for (const [k, v] of this.counters) out[k] = { processed: v.processed, skipped: v.skipped, failures: v.redactionFailures };
    return out;
  }

  /** Stops consuming, lets in-flight frames finish (publish + ack), then closes the core and its worker. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.starting?.catch(() => undefined);
      // Started frames finish (publish + ack) before the consumer closes, else the bus would hand them to
      // another replica a second time; frames not started stay unacked and the close hands them back.
      this.waiting.clear();
      while (this.active.size > 0) await Promise.allSettled([...this.active]);
      const c = this.consumer;
      this.consumer = undefined;
      await c?.close();
      await this.owning;
      await Promise.all([...this.cameraConsumers.values()].map((x) => x.close()));
      this.cameraConsumers.clear();
      await this.o.core.close();
      this.log.info({ cameras: this.stageCounters() }, 'privacy stage closed');
    })();
    return this.closing;
  }
}

function capturedAt(m: BusMessage<'frames.raw'>): number {
  return m.envelope.meta.capturedAt;
}
