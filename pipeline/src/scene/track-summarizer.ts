import type { BasicColor, Box, CocoClass, ColorPart, SceneTrack, TrackSummary } from '@chronotrace/contracts';

export interface TrackSummarizerOptions {
  /** A live track's summary is written again at most this often while it changes. Default 5 000 ms. */
  flushEveryMs?: number;
}

export const DEFAULT_SUMMARY_FLUSH_MS = 5_000;

/** A summary to store, with its rank without colours (0..1). */
export type SummaryToStore = TrackSummary & { quality: number };

interface Accumulator {
  s: TrackSummary;
  scoreSum: number;
  bestValue: number;
  /** Observations with fresh colours, per part, and how often each colour was dominant. */
  colorObs: Record<ColorPart, number>;
  colorCounts: Record<ColorPart, Map<BasicColor, number>>;
  zones: Set<string>;
  carrying: Set<CocoClass>;
  carriedColors: Set<string>;
  dirty: boolean;
  writtenAt: number;
}

/**
 * Folds every detection of a track into one summary row for search: best and mean detection score,
 * the best view (score × √area) and its box, colour shares per body part, zones visited, longest dwell
 * per zone, what it carried. Pure: frames in, summaries to store out (a live track every
 * `flushEveryMs` while it changes, an ended one at once).
 */
export class TrackSummarizer {
  private readonly tracks = new Map<string, Accumulator>();
  private readonly flushMs: number;

  constructor(o: TrackSummarizerOptions = {}) {
    this.flushMs = o.flushEveryMs ?? DEFAULT_SUMMARY_FLUSH_MS;
  }

  /**
   * One frame's tracks. Returns the ids of tracks whose best view is this frame (the caller keeps
   * this frame's pixels for their thumbnails).
   */
  observe(frame: { capturedAt: number; width: number; height: number }, tracks: readonly SceneTrack[], attributesFresh: boolean): string[] {
    const improved: string[] = [];
    for (const t of tracks) {
      // A detection of this track on this frame (not a carried prediction or a lost track).
      if (t.state !== 'confirmed' || t.misses !== 0 || t.lastSeen !== frame.capturedAt) continue;
      let a = this.tracks.get(t.id);
      if (!a) {
        a = newAccumulator(t, frame);
        this.tracks.set(t.id, a);
      }
      const s = a.s;
      s.lastSeen = Math.max(s.lastSeen, t.lastSeen);
      s.firstSeen = Math.min(s.firstSeen, t.firstSeen);
      s.observations++;
      a.scoreSum += t.score;
      s.bestScore = Math.max(s.bestScore, t.score);
      s.meanScore = a.scoreSum / s.observations;
      const value = t.score * Math.sqrt(Math.max(1, t.box.w * t.box.h));
      if (value > a.bestValue) {
        a.bestValue = value;
        s.bestAt = frame.capturedAt;
        s.bestBox = roundBox(t.box);
        s.frameWidth = frame.width;
        s.frameHeight = frame.height;
        improved.push(t.id);
      }
      if (attributesFresh && t.attributes) {
        for (const part of ['any', 'upper', 'lower'] as const) {
          const c = t.attributes[part];
          if (!c) continue;
          a.colorObs[part]++;
          a.colorCounts[part].set(c.dominant, (a.colorCounts[part].get(c.dominant) ?? 0) + 1);
        }
      }
      for (const z of t.zones) a.zones.add(z);
      for (const [z, ms] of Object.entries(t.dwell)) s.dwell[z] = Math.max(s.dwell[z] ?? 0, Math.round(ms / 100) / 10);
      for (const c of t.carrying ?? []) a.carrying.add(c);
      for (const item of t.carried ?? []) for (const col of item.colors) a.carriedColors.add(`${item.label}:${col}`);
      a.dirty = true;
    }
    return improved;
  }

  /** Tracks that ended: their final summaries (they are forgotten here). */
  end(trackIds: readonly string[]): SummaryToStore[] {
    const out: SummaryToStore[] = [];
    for (const id of trackIds) {
      const a = this.tracks.get(id);
      if (!a) continue;
      this.tracks.delete(id);
      a.s.ended = true;
      out.push(this.snapshot(a));
    }
    return out;
  }

  /** Live tracks that changed and were not written for `flushEveryMs` (all changed ones when `all`). */
  due(now: number, all = false): SummaryToStore[] {
    const out: SummaryToStore[] = [];
    for (const a of this.tracks.values()) {
      if (!a.dirty || (!all && now - a.writtenAt < this.flushMs)) continue;
      a.writtenAt = now;
      out.push(this.snapshot(a));
    }
    return out;
  }

  /** Forgets a camera's tracks (camera removed), without summaries. */
  forget(camera: string): void {
    for (const [id, a] of this.tracks) if (a.s.camera === camera) this.tracks.delete(id);
  }

  get size(): number {
    return this.tracks.size;
  }

  private snapshot(a: Accumulator): SummaryToStore {
    a.dirty = false;
    const colors: TrackSummary['colors'] = {};
    for (const part of ['any', 'upper', 'lower'] as const) {
      const n = a.colorObs[part];
      if (n === 0) continue;
      const shares: Partial<Record<BasicColor, number>> = {};
      for (const [c, k] of a.colorCounts[part]) shares[c] = Math.round((k / n) * 1000) / 1000;
      colors[part] = shares;
    }
    const s: TrackSummary = {
      ...a.s,
      bestBox: { ...a.s.bestBox },
      dwell: { ...a.s.dwell },
      colors,
      zones: [...a.zones].sort(),
      carrying: [...a.carrying].sort(),
      carriedColors: [...a.carriedColors].sort(),
    };
    return { ...s, quality: trackQuality(s) };
  }
}

/** Time in view that counts fully (ms): a glimpse ranks below a clear walk past. */
const FULL_VIEW_MS = 8_000;

/** The components of a track's match quality, each 0..1. */
export function qualityParts(s: Pick<TrackSummary, 'bestScore' | 'meanScore' | 'firstSeen' | 'lastSeen'>): { detection: number; time: number } {
  const detection = 0.6 * s.bestScore + 0.4 * s.meanScore;
  const time = 1 - Math.exp(-Math.max(0, s.lastSeen - s.firstSeen) / FULL_VIEW_MS);
  return { detection, time };
}

/** Rank without colours, 0..1: mostly detection confidence, partly time in view. */
export function trackQuality(s: Pick<TrackSummary, 'bestScore' | 'meanScore' | 'firstSeen' | 'lastSeen'>): number {
  const q = qualityParts(s);
  return Math.round((0.8 * q.detection + 0.2 * q.time) * 1e6) / 1e6;
}

function roundBox(b: Box): Box {
  return { x: Math.round(b.x), y: Math.round(b.y), w: Math.round(b.w), h: Math.round(b.h) };
}

function newAccumulator(t: SceneTrack, frame: { capturedAt: number; width: number; height: number }): Accumulator {
  return {
    s: {
      trackId: t.id,
      camera: t.camera,
      label: t.label,
      firstSeen: t.firstSeen,
      lastSeen: t.lastSeen,
      ended: false,
      observations: 0,
      bestScore: 0,
      meanScore: 0,
      bestAt: frame.capturedAt,
      bestBox: roundBox(t.box),
      frameWidth: frame.width,
      frameHeight: frame.height,
      colors: {},
      zones: [],
      dwell: {},
      carrying: [],
      carriedColors: [],
    },
    scoreSum: 0,
    bestValue: -1,
    colorObs: { any: 0, upper: 0, lower: 0 },
    colorCounts: { any: new Map(), upper: new Map(), lower: new Map() },
    zones: new Set(),
    carrying: new Set(),
    carriedColors: new Set(),
    dirty: false,
    // Never written: the first due() writes it, so a new track is searchable at once.
    writtenAt: -Infinity,
  };
}
