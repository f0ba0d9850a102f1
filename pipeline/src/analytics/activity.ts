import { HEATMAP_COLS, HEATMAP_ROWS, type ActivityReport, type LineConfig, type SceneTrack } from '@chronotrace/contracts';
import { crossing, foot } from '../anomaly/anomaly-engine';

/** A stored frame's tracks, as the scene stage keeps them for backtests. */
export interface ActivityFrame {
  capturedAt: number;
  width: number;
  height: number;
  tracks: readonly SceneTrack[];
}

export interface ActivityOptions {
  camera: string;
  from: number;
  to: number;
  bucketMs: number;
  /** The class that counts (person by default in the API). */
  label: string;
  lines: readonly LineConfig[];
  zones: readonly string[];
}

interface Bucket {
  inView: number;
  lines: Map<string, { in: number; out: number }>;
  zones: Map<string, { peak: number; entered: number }>;
}

/**
 * Folds a camera's stored scene frames (oldest first) into an activity report (pure): a heatmap of the
 * cells tracks' foot points passed through (each track once per cell per pass), crossings of each line
 * by direction (the same crossing test as the line rule), and per bucket the most tracks in view and in
 * each zone at once and the tracks that entered each zone. Only tracks matched on a frame count there
 * (a coasting prediction is not a sighting).
 */
export class ActivityAccumulator {
  readonly #o: ActivityOptions;
  readonly #cells = new Array<number>(HEATMAP_COLS * HEATMAP_ROWS).fill(0);
  /** Per track: its last foot point (frame pixels), last cell, and zones it is in. */
  readonly #tracks = new Map<string, { foot: { x: number; y: number }; cell: number; zones: Set<string> }>();
  readonly #buckets = new Map<number, Bucket>();
  readonly #lineTotals = new Map<string, { in: number; out: number }>();
  readonly #zoneTotals = new Map<string, { peak: number; entered: number }>();
  #frames = 0;
  #last = -Infinity;

  constructor(options: ActivityOptions) {
    this.#o = options;
    for (const l of options.lines) this.#lineTotals.set(l.name, { in: 0, out: 0 });
    for (const z of options.zones) this.#zoneTotals.set(z, { peak: 0, entered: 0 });
  }

  get frames(): number {
    return this.#frames;
  }

  /** One frame, in capture order; an older or repeated frame is ignored. */
  feed(f: ActivityFrame): void {
    if (f.capturedAt <= this.#last || f.capturedAt < this.#o.from || f.capturedAt >= this.#o.to) return;
    this.#last = f.capturedAt;
    this.#frames++;
    const bucket = this.#bucket(f.capturedAt);
    const inZone = new Map<string, number>();
    let inView = 0;
    for (const t of f.tracks) {
      if (t.label !== this.#o.label || t.state !== 'confirmed' || t.lastSeen !== f.capturedAt) continue;
      inView++;
      const p = foot(t);
      const col = Math.min(HEATMAP_COLS - 1, Math.max(0, Math.floor((p.x / f.width) * HEATMAP_COLS)));
      const row = Math.min(HEATMAP_ROWS - 1, Math.max(0, Math.floor((p.y / f.height) * HEATMAP_ROWS)));
      const cell = row * HEATMAP_COLS + col;
      const prev = this.#tracks.get(t.id);
      if (!prev || prev.cell !== cell) this.#cells[cell]!++;
      if (prev) {
        for (const l of this.#o.lines) {
          const d = crossing(l.from[0] * f.width, l.from[1] * f.height, l.to[0] * f.width, l.to[1] * f.height, prev.foot, p);
          if (!d) continue;
          this.#lineTotals.get(l.name)![d]++;
          const b = bucket.lines.get(l.name) ?? { in: 0, out: 0 };
          b[d]++;
          bucket.lines.set(l.name, b);
        }
      }
      const zones = new Set(t.zones.filter((z) => this.#zoneTotals.has(z)));
      for (const z of zones) {
        inZone.set(z, (inZone.get(z) ?? 0) + 1);
        if (!prev?.zones.has(z)) {
          this.#zoneTotals.get(z)!.entered++;
          const b = bucket.zones.get(z) ?? { peak: 0, entered: 0 };
          b.entered++;
          bucket.zones.set(z, b);
        }
      }
      this.#tracks.set(t.id, { foot: p, cell, zones });
    }
    bucket.inView = Math.max(bucket.inView, inView);
    for (const [z, n] of inZone) {
      const b = bucket.zones.get(z) ?? { peak: 0, entered: 0 };
      b.peak = Math.max(b.peak, n);
      bucket.zones.set(z, b);
      const total = this.#zoneTotals.get(z)!;
      total.peak = Math.max(total.peak, n);
    }
  }

  #bucket(at: number): Bucket {
    const k = this.#o.from + Math.floor((at - this.#o.from) / this.#o.bucketMs) * this.#o.bucketMs;
    let b = this.#buckets.get(k);
    if (!b) this.#buckets.set(k, (b = { inView: 0, lines: new Map(), zones: new Map() }));
    return b;
  }

  /** The report so far; `coveredTo` is where the frames read end (the span's end unless truncated). */
  report(coveredTo = this.#o.to, truncated = false): ActivityReport {
    const o = this.#o;
    const starts: number[] = [];
    for (let at = o.from; at < o.to; at += o.bucketMs) starts.push(at);
    const bucketAt = (at: number): Bucket | undefined => this.#buckets.get(at);
    return {
      camera: o.camera,
      label: o.label,
      from: o.from,
      to: o.to,
      bucketMs: o.bucketMs,
      frames: this.#frames,
      truncated,
      coveredTo,
      tracks: this.#tracks.size,
      heatmap: { cols: HEATMAP_COLS, rows: HEATMAP_ROWS, cells: [...this.#cells], max: Math.max(0, ...this.#cells) },
      lines: o.lines.map((l) => ({
        name: l.name,
        total: { ...this.#lineTotals.get(l.name)! },
        buckets: starts.map((at) => ({ at, in: bucketAt(at)?.lines.get(l.name)?.in ?? 0, out: bucketAt(at)?.lines.get(l.name)?.out ?? 0 })),
      })),
      zones: o.zones.map((z) => ({
        name: z,
        ...this.#zoneTotals.get(z)!,
        buckets: starts.map((at) => ({ at, peak: bucketAt(at)?.zones.get(z)?.peak ?? 0, entered: bucketAt(at)?.zones.get(z)?.entered ?? 0 })),
      })),
      inView: starts.map((at) => ({ at, peak: bucketAt(at)?.inView ?? 0 })),
    };
  }
}
