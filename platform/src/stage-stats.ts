import { hostname } from 'node:os';
import type { StageStats } from '@chronotrace/contracts';
import type { Bus } from './bus/bus';
import type { Logger } from './logger';

/** A replica id unique per process: host, pid and a random suffix (pids repeat across containers). */
export function instanceId(): string {
  return `${hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * Publishes a stage's per-camera counters on the bus every `everyMs` (default 2000 ms), so the
 * web can show them in camera health whichever process or replica the stage runs in.
 */
export class StageStatsPublisher {
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;

  constructor(
    private readonly bus: Bus,
    private readonly stage: string,
    private readonly instance: string,
    private readonly read: () => StageStats['cameras'],
    private readonly log: Logger,
    private readonly everyMs = 2000,
    /** The recorder's camera states (stage 'recording'). */
    private readonly recording?: () => NonNullable<StageStats['recording']>,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.publish(), this.everyMs);
    this.timer.unref();
  }

  async publish(): Promise<void> {
    const meta: StageStats = { stage: this.stage, instance: this.instance, at: Date.now(), cameras: this.read(), ...(this.recording ? { recording: this.recording() } : {}) };
    const r = await this.bus.publish('stats', this.instance, { meta }, { msgId: `${this.stage}:${this.instance}:${++this.seq}` });
    if (!r.ok && r.reason !== 'closed') this.log.warn({ stage: this.stage, reason: r.reason, detail: r.detail }, 'could not publish stage stats');
  }

  /** Stops the timer after one last publish. Idempotent. */
  async close(): Promise<void> {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.publish().catch(() => undefined);
  }
}
