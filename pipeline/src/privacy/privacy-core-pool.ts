import type { PrivacySettings } from '@chronotrace/contracts';
import type { PrivacyCore, PrivacyCoreStats, PrivacyFrame, PrivacyPlan, PrivacyResult } from './privacy-core';

/** What the privacy stage needs of its redaction engine: one PrivacyCore, or a pool of them. */
export type PrivacyProcessor = Pick<PrivacyCore, 'start' | 'process' | 'close' | 'toJSON'> & {
  /** Frames it works on at once (a pool: its size plus its carried-frame slots). Default 1. */
  readonly capacity?: number;
  plan?(frame: PrivacyFrame, busy?: () => boolean): Promise<PrivacyPlan>;
};

/** Frames redacted with carried regions (no detector) a pool works on besides its cores' analysis frames. */
export const DEFAULT_CARRY_SLOTS = 8;

/**
 * Several PrivacyCores (each with its own model worker threads) behind one `process()`: a frame the
 * detectors run on takes a core, and the next such frame goes to whichever core frees up first; a frame
 * redacted with carried regions (no detector) takes no core, so smooth video never waits behind a
 * detection. The cores share one PerceptionMemory, so the plan is made by any of them.
 */
export class PrivacyCorePool implements PrivacyProcessor {
  private readonly busy: boolean[];
  private readonly waiting: ((core: number) => void)[] = [];

  constructor(
    private readonly cores: readonly PrivacyProcessor[],
    private readonly carrySlots = DEFAULT_CARRY_SLOTS,
  ) {
    if (cores.length === 0) throw new RangeError('a privacy core pool needs at least one core');
    this.busy = cores.map(() => false);
  }

  get capacity(): number {
    return this.cores.length + (this.cores[0]?.plan ? this.carrySlots : 0);
  }

  async start(): Promise<void> {
    await Promise.all(this.cores.map((c) => c.start()));
  }

  async process(frame: PrivacyFrame, settings: PrivacySettings): Promise<PrivacyResult> {
    // Planned now, synchronously: the shared motion gate applies a camera's frames in the order given.
    const first = this.cores[0]!;
    // Under load a due analysis is put off (the frame carried) rather than queued behind the others'.
    const plan = first.plan?.(frame, frame.recorded ? undefined : () => this.busy.every(Boolean));
    if (plan) {
      plan.catch(() => undefined);
      const p = await plan.catch(() => undefined);
      if (p && (!p.analyse || p.holdBack)) return first.process(frame, settings, plan);
    }
    const i = await this.acquire();
    try {
      return await this.cores[i]!.process(frame, settings, plan);
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
