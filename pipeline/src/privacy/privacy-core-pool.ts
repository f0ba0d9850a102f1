import type { PrivacySettings } from '@chronotrace/contracts';
import type { PrivacyCore, PrivacyCoreStats, PrivacyFrame, PrivacyResult } from './privacy-core';

/** What the privacy stage needs of its redaction engine: one PrivacyCore, or a pool of them. */
export type PrivacyProcessor = Pick<PrivacyCore, 'start' | 'process' | 'close' | 'toJSON'> & {
  /** Frames it works on at once (a pool: its size). Default 1. */
  readonly capacity?: number;
};

/**
 * Several PrivacyCores (each with its own face-model worker thread) behind one `process()`: each
 * core works on one frame at a time and the next waiting frame goes to whichever core frees up
 * first, so one stage uses every core of the machine while it still sees all pending frames at
 * once (and can skip to the newest per camera).
 */
export class PrivacyCorePool implements PrivacyProcessor {
  private readonly busy: boolean[];
  private readonly waiting: ((core: number) => void)[] = [];

  constructor(private readonly cores: readonly PrivacyProcessor[]) {
    if (cores.length === 0) throw new RangeError('a privacy core pool needs at least one core');
    this.busy = cores.map(() => false);
  }

  get capacity(): number {
    return this.cores.length;
  }

  async start(): Promise<void> {
    await Promise.all(this.cores.map((c) => c.start()));
  }

  async process(frame: PrivacyFrame, settings: PrivacySettings): Promise<PrivacyResult> {
    const i = await this.acquire();
    try {
      return await this.cores[i]!.process(frame, settings);
    } finally {
      this.release(i);
    }
  }

  /** A free core, else the first one to free up (frames are served in arrival order). */
  private acquire(): Promise<number> {
    const free = this.busy.indexOf(false);
    if (free >= 0) {
      this.busy[free] = true;
      return Promise.resolve(free);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(i: number): void {
    const next = this.waiting.shift();
    if (next) next(i);
    else this.busy[i] = false;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.cores.map((c) => c.close()));
  }

  /** Counts summed over the cores; latency percentiles are the worst core's (they are not mergeable exactly). */
  toJSON(): PrivacyCoreStats {
    const all = this.cores.map((c) => c.toJSON());
    const out: PrivacyCoreStats = { frames: 0, redacted: 0, failures: 0, failuresByReason: {}, facesFound: 0, textRegionsFound: 0, headsFound: 0, objectRuns: 0, objectReused: 0, ms: { ...all[0]!.ms } };
    for (const s of all) {
      out.frames += s.frames;
      out.redacted += s.redacted;
      out.failures += s.failures;
      out.facesFound += s.facesFound;
      out.textRegionsFound += s.textRegionsFound;
      out.headsFound += s.headsFound;
      out.objectRuns += s.objectRuns;
      out.objectReused += s.objectReused;
      for (const [k, v] of Object.entries(s.failuresByReason)) out.failuresByReason[k as keyof PrivacyCoreStats['failuresByReason']] = (out.failuresByReason[k as keyof PrivacyCoreStats['failuresByReason']] ?? 0) + (v ?? 0);
    }
    for (const key of Object.keys(out.ms) as (keyof PrivacyCoreStats['ms'])[]) {
      const windows = all.map((s) => s.ms[key]);
      const worst = (pick: (w: (typeof windows)[number]) => number | null): number | null =>
        windows.reduce<number | null>((m, w) => (pick(w) === null ? m : Math.max(m ?? 0, pick(w)!)), null);
      out.ms[key] = { count: windows.reduce((n, w) => n + w.count, 0), p50: worst((w) => w.p50), p99: worst((w) => w.p99) };
    }
    return out;
  }
}
