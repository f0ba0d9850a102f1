import { describe, expect, it } from 'vitest';
import type { FrameMeta, PrivacySettings } from '@chronotrace/contracts';
import { PrivacyCorePool, type PrivacyCoreStats, type PrivacyFrame, type PrivacyProcessor, type PrivacyResult } from '../../src/privacy/index';

const settings: PrivacySettings = { faces: true, plates: true, heads: true, method: 'pixelate', margin: 0.1 };

/** A core that takes `ms` per frame and records which frames it handled and its peak concurrency. */
class TimedCore implements PrivacyProcessor {
  handled: string[] = [];
  started = false;
  closed = false;
  private busy = 0;
  peak = 0;
  constructor(private readonly ms: number, private readonly p50: number) {}
  async start(): Promise<void> {
    this.started = true;
  }
  async process(frame: PrivacyFrame, _s: PrivacySettings): Promise<PrivacyResult> {
    this.busy++;
    this.peak = Math.max(this.peak, this.busy);
    await new Promise((r) => setTimeout(r, this.ms));
    this.busy--;
    this.handled.push(frame.meta.frameId);
    return { ok: false, reason: 'closed', detail: 'test core' };
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  toJSON(): PrivacyCoreStats {
    const w = { count: this.handled.length, p50: this.p50, p99: this.p50 * 2 };
    return { frames: this.handled.length, redacted: 0, failures: this.handled.length, failuresByReason: { closed: this.handled.length }, facesFound: 1, textRegionsFound: 0, headsFound: 0, objectRuns: 0, objectReused: 0, ms: { total: w, face: w, text: w, objects: w, redact: w } };
  }
}

const frame = (i: number): PrivacyFrame => ({
  meta: { camera: 'c', frameId: `c:${i}`, seq: i, capturedAt: Date.now(), width: 8, height: 8 } satisfies FrameMeta,
  jpeg: new Uint8Array([0xff, 0xd8]),
});

describe('PrivacyCorePool', () => {
  it('spreads concurrent frames over its cores, one at a time each', async () => {
    const cores = [new TimedCore(40, 10), new TimedCore(40, 30)];
    const pool = new PrivacyCorePool(cores);
    await pool.start();
    expect(cores.every((c) => c.started)).toBe(true);
    const t0 = Date.now();
    await Promise.all([0, 1, 2, 3].map((i) => pool.process(frame(i), settings)));
    const elapsed = Date.now() - t0;
    expect(cores.map((c) => c.handled.length)).toEqual([2, 2]);
    expect(cores.map((c) => c.peak)).toEqual([1, 1]);
    expect(elapsed).toBeLessThan(4 * 40);
    const stats = pool.toJSON();
    expect(stats.frames).toBe(4);
    expect(stats.failuresByReason.closed).toBe(4);
    expect(stats.facesFound).toBe(2);
    expect(stats.ms.face).toEqual({ count: 4, p50: 30, p99: 60 });
    await pool.close();
    expect(cores.every((c) => c.closed)).toBe(true);
  });

  it('refuses an empty pool', () => {
    expect(() => new PrivacyCorePool([])).toThrow(RangeError);
  });
});
