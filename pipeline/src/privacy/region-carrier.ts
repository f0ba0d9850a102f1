import type { Box } from '@chronotrace/contracts';
import { iou } from './box-geometry';

/**
 * Carries a camera's redaction regions (faces, plates, people) from the frames detectors ran on to the
 * frames between them: detect sparsely, redact densely. Each region keeps a velocity (from matching it
 * to the previous detection), is moved to where it should be on a later frame, and grows with the time
 * since it was last confirmed, so a region is never smaller than the uncertainty of where it is. A region
 * the latest detection did not confirm (a detector flicker, a face turning away) stays, grown, for
 * `holdMs` before it is dropped. Pure; one per camera and kind.
 */

export interface RegionCarrierOptions {
  /** Growth of a region per second since it was confirmed, as a share of its larger side (each side gets half). Default 0.6. */
  growthPerS?: number;
  /** Growth never exceeds this share of the region's larger side. Default 1. */
  maxGrowth?: number;
  /** An unconfirmed region is kept this long after it was last confirmed. Default 1500 ms. */
  holdMs?: number;
  /** Velocity smoothing: new = a·measured + (1 − a)·old. Default 0.6. */
  smoothing?: number;
  /** A region moving faster than this many of its own widths per second is not trusted to keep moving (velocity zeroed; a wrong velocity only over-redacts, as the region spans where it was seen). Default 10. */
  maxSpeedWidthsPerS?: number;
}

export const DEFAULT_REGION_CARRIER_OPTIONS: Required<RegionCarrierOptions> = { growthPerS: 0.6, maxGrowth: 1, holdMs: 1500, smoothing: 0.6, maxSpeedWidthsPerS: 10 };

interface Carried<B extends Box> {
  box: B;
  /** Centre velocity, px per ms. */
  vx: number;
  vy: number;
  /** When the box was last confirmed by a detection (capture time, ms). */
  at: number;
}

const cx = (b: Box): number => b.x + b.w / 2;
const cy = (b: Box): number => b.y + b.h / 2;

export class RegionCarrier<B extends Box> {
  private readonly o: Required<RegionCarrierOptions>;
  private regions: Carried<B>[] = [];
  private lastAt = -Infinity;

  constructor(options: RegionCarrierOptions = {}) {
    this.o = { ...DEFAULT_REGION_CARRIER_OPTIONS, ...options };
  }

  /**
   * Takes a detection made on the frame captured at `at`. Each new box inherits the velocity of the
   * previous region it overlaps most (same label); previous regions it did not confirm are kept while
   * within holdMs. A detection older than the newest one taken is ignored (frames finish out of order).
   */
  update(boxes: readonly B[], at: number): void {
    if (at < this.lastAt) return;
    const dt = at - this.lastAt;
    const previous = this.regions;
    const used = new Set<number>();
    const next: Carried<B>[] = [];
    for (const box of boxes) {
      let best = -1;
      let bestScore = 0;
      for (let i = 0; i < previous.length; i++) {
        const p = previous[i] as Carried<B>;
        if (used.has(i) || p.box.label !== box.label) continue;
        // Where the previous region should be now, so fast movers still match.
        const moved = this.at(p, at, false);
        const near = Math.hypot(cx(moved) - cx(box), cy(moved) - cy(box)) < Math.max(box.w, box.h, moved.w, moved.h) * 0.75;
        const score = iou(moved, box) + (near ? 0.05 : 0);
        if (score > bestScore) {
          bestScore = score;
          best = i;
        }
      }
      let vx = 0;
      let vy = 0;
      if (best >= 0 && dt > 0 && Number.isFinite(dt)) {
        const p = previous[best] as Carried<B>;
        used.add(best);
        const mvx = (cx(box) - cx(p.box)) / (at - p.at);
        const mvy = (cy(box) - cy(p.box)) / (at - p.at);
        const a = this.o.smoothing;
        vx = a * mvx + (1 - a) * p.vx;
        vy = a * mvy + (1 - a) * p.vy;
        const limit = (this.o.maxSpeedWidthsPerS * Math.max(box.w, 1)) / 1000;
        if (Math.hypot(vx, vy) > limit) {
          vx = 0;
          vy = 0;
        }
      }
      next.push({ box: { ...box }, vx, vy, at });
    }
    for (let i = 0; i < previous.length; i++) {
      const p = previous[i] as Carried<B>;
      if (!used.has(i) && at - p.at <= this.o.holdMs) next.push(p);
    }
    this.regions = next;
    this.lastAt = at;
  }

  /**
   * The regions as they should be on the frame captured at `at`: moved by their velocity and grown by
   * their age. On a still frame (the motion gate saw nothing move) they are where they were: not moved,
   * not grown.
   */
  predict(at: number, still = false): B[] {
    return this.regions.filter((r) => at - r.at <= this.o.holdMs || r.at === this.lastAt).map((r) => (still ? { ...r.box } : this.at(r, at, true)));
  }

  /** Only the regions of the latest detection, predicted likewise (the objects a frame reports, without the held ones). */
  predictLatest(at: number, still = false): B[] {
    return this.regions.filter((r) => r.at === this.lastAt).map((r) => (still ? { ...r.box } : this.at(r, at, true)));
  }

  /** Regions the latest detection did not confirm but that are still held (to add to that detection's own boxes). */
  held(at: number): B[] {
    return this.regions.filter((r) => r.at < this.lastAt && at - r.at <= this.o.holdMs).map((r) => this.at(r, at, true));
  }

  get size(): number {
    return this.regions.length;
  }

  /**
   * Where a region should be `at`: the hull of where it was last seen and where its velocity takes it
   * (it may have stopped; it may have kept going), grown on each side by growthPerS × age × its larger
   * side (it may have set off or turned), the growth capped at maxGrowth.
   */
  private at(r: Carried<B>, at: number, grow: boolean): B {
    const age = Math.max(0, at - r.at);
    const g = grow ? (Math.min(this.o.maxGrowth, (this.o.growthPerS * age) / 1000) * Math.max(r.box.w, r.box.h)) / 2 : 0;
    const dx = r.vx * age;
    const dy = r.vy * age;
    const x1 = Math.min(r.box.x, r.box.x + dx) - g;
    const y1 = Math.min(r.box.y, r.box.y + dy) - g;
    const x2 = Math.max(r.box.x + r.box.w, r.box.x + r.box.w + dx) + g;
    const y2 = Math.max(r.box.y + r.box.h, r.box.y + r.box.h + dy) + g;
    return { ...r.box, x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
  }
}
