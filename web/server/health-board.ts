import { EventEmitter } from 'node:events';
import type { CameraHealth, RecordingHealth, StageStats } from '@chronotrace/contracts';
import type { Bus, Consumer, Logger, Store } from '@chronotrace/platform';

/** A replica that has not reported for this long no longer counts. */
const STATS_STALE_MS = 30_000;

export interface HealthBoardEvents {
  health: [CameraHealth];
}

/**
 * Current health of every camera, as the wall and /api/health show it: ingest's record
 * (state, fps, restarts, last error) merged with the pipeline's per-camera counters
 * (frames skipped to stay real-time, frames dropped because redaction failed).
 * Every state change is recorded in the store's health events, once for all web replicas.
 */
export class HealthBoard extends EventEmitter<HealthBoardEvents> {
  private readonly ingest = new Map<string, CameraHealth>();
  private readonly stages = new Map<string, StageStats>();
  private readonly consumers: Consumer[] = [];
  private closed = false;
  private delivered: ((camera: string) => number) | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly store: Store,
    private readonly instance: string,
    private readonly log: Logger,
  ) {
    super();
  }

  async start(): Promise<void> {
    this.consumers.push(
      // One recorder group for all web replicas: each report is offered to the store once, and the
      // store keeps it only if the camera's state changed.
      await this.bus.consume('health', { durable: 'health-recorder', batch: 64, deliverFrom: 'new' }, async (msgs) => {
        for (const m of msgs) {
          try {
            await this.store.healthEvents.appendIfStateChanged(m.envelope.meta);
            m.ack();
          } catch (e) {
            this.log.error({ err: e, camera: m.camera }, 'could not store health event');
            m.nak(1000);
          }
        }
      }),
      await this.bus.consume('health', { durable: `web-health-${this.instance}`, batch: 64, deliverFrom: 'new', expireAfterIdleMs: 5 * 60_000 }, async (msgs) => {
        for (const m of msgs) {
          this.onIngestHealth(m.envelope.meta);
          m.ack();
        }
      }),
      await this.bus.consume('stats', { durable: `web-stats-${this.instance}`, batch: 64, deliverFrom: 'new', expireAfterIdleMs: 5 * 60_000 }, async (msgs) => {
        for (const m of msgs) {
          this.stages.set(`${m.envelope.meta.stage}/${m.envelope.meta.instance}`, m.envelope.meta);
          m.ack();
        }
      }),
    );
  }

  /** Health of one camera; 'starting' with zero counters before ingest has reported. */
  get(camera: string): CameraHealth {
    const base: CameraHealth = this.ingest.get(camera) ?? {
      camera,
      state: 'starting',
      fps: 0,
      lastFrameAt: null,
      restarts: 0,
      lastError: null,
      skipped: 0,
      redactionFailures: 0,
      at: Date.now(),
    };
    let skipped = base.skipped;
    let failures = base.redactionFailures;
    const now = Date.now();
    for (const s of this.stages.values()) {
      if (now - s.at > STATS_STALE_MS) continue;
      const c = s.cameras[camera];
      if (!c) continue;
      skipped += c.skipped;
      failures += c.failures;
    }
    const delivered = this.delivered?.(camera);
    return { ...base, skipped, redactionFailures: failures, ...(delivered !== undefined ? { deliveredFps: delivered } : {}) };
  }

  /** Where the delivered rate of a camera comes from (the live wall of this replica). */
  deliveredFrom(rate: (camera: string) => number): void {
    this.delivered = rate;
  }

  /** Replicas of each stage that reported within the stale limit, and when ingest last reported. */
  liveness(): { stages: Record<string, number>; ingestAt: number | null } {
    const now = Date.now();
    const stages: Record<string, number> = {};
    for (const s of this.stages.values()) if (now - s.at <= STATS_STALE_MS) stages[s.stage] = (stages[s.stage] ?? 0) + 1;
    let ingestAt: number | null = null;
    for (const h of this.ingest.values()) ingestAt = Math.max(ingestAt ?? 0, h.at);
    return { stages, ingestAt };
  }

  /** The recorder's state of a camera as last reported by a recording process (null: none reported lately). */
  recordingState(camera: string): Pick<RecordingHealth, 'state' | 'error'> | null {
    const now = Date.now();
    let best: StageStats | null = null;
    for (const s of this.stages.values()) if (s.stage === 'recording' && now - s.at <= STATS_STALE_MS && s.recording?.[camera] && (!best || s.at > best.at)) best = s;
    return best?.recording?.[camera] ?? null;
  }

  forget(camera: string): void {
    this.ingest.delete(camera);
  }

  private onIngestHealth(h: CameraHealth): void {
    const prev = this.ingest.get(h.camera);
    if (prev && prev.at > h.at) return; // late, out-of-order record
    this.ingest.set(h.camera, h);
    if (!prev || prev.state !== h.state) this.log.info({ camera: h.camera, state: h.state, error: h.lastError ?? undefined }, 'camera state');
    this.emit('health', this.get(h.camera));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.consumers.map((c) => c.close()));
  }
}
