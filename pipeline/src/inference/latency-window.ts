/** Keeps the last `size` durations and answers percentiles over them (sorted on demand: reads are rare). */
export class LatencyWindow {
  private readonly samples: number[] = [];
  private next = 0;
  count = 0;

  constructor(private readonly size = 512) {}

  add(ms: number): void {
    this.count++;
    if (this.samples.length < this.size) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.size;
  }

  /** p in 0..100; NaN when empty. Nearest-rank. */
  percentile(p: number): number {
    if (this.samples.length === 0) return Number.NaN;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[rank] as number;
  }

  toJSON(): { count: number; p50: number | null; p99: number | null } {
    const r = (v: number): number | null => (Number.isFinite(v) ? Math.round(v * 10) / 10 : null);
    return { count: this.count, p50: r(this.percentile(50)), p99: r(this.percentile(99)) };
  }
}
