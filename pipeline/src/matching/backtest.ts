import type { BacktestHit, SceneTrack, StandingQuery } from '@chronotrace/contracts';
import { TrackMatcher, type SimilarityJudgement, type TrackMatcherOptions } from './track-matcher';

/** A stored frame's tracks, as the store returns them. */
export interface BacktestFrame {
  frameId: string;
  camera: string;
  capturedAt: number;
  width: number;
  height: number;
  tracks: SceneTrack[];
}

export interface BacktestOptions {
  /** The live matcher's options, so the replay fires exactly as live would have. */
  matcher?: TrackMatcherOptions;
  /** Stop listing after this many hits. Default 500. */
  maxHits?: number;
}

export const DEFAULT_BACKTEST_MAX_HITS = 500;

/**
 * Replays stored scene frames (fed oldest first, in pages if need be) through a fresh TrackMatcher
 * armed with this one query, so hysteresis, once-per-track and cooldown behave as they would have
 * live. Pure; fires nothing. Disarmed queries replay too: that is the point of trying one before arming it.
 */
export class Backtest {
  readonly #matcher: TrackMatcher;
  readonly #max: number;
  readonly hits: BacktestHit[] = [];
  frames = 0;
  truncated = false;

  constructor(query: StandingQuery, options: BacktestOptions = {}) {
    this.#matcher = new TrackMatcher(options.matcher ?? {});
    this.#matcher.arm({ id: query.id, plan: query.plan, version: query.version });
    this.#max = options.maxHits ?? DEFAULT_BACKTEST_MAX_HITS;
  }

  /** `similarity`: the frame's judgements, for a query with a similarity term (replayed from stored embeddings). */
  feed(f: BacktestFrame, similarity?: ReadonlyMap<string, SimilarityJudgement>): void {
    this.frames++;
    for (const e of this.#matcher.evaluate({ camera: f.camera, at: f.capturedAt, tracks: f.tracks, ...(similarity ? { similarity } : {}) })) {
      if (this.hits.length >= this.#max) {
        this.truncated = true;
        continue;
      }
      const hit: BacktestHit = {
        camera: f.camera,
        frameId: f.frameId,
        capturedAt: f.capturedAt,
        kind: e.kind,
        tracks: e.tracks,
        scores: e.scores,
        reason: e.reason,
        frame: { width: f.width, height: f.height },
      };
      if (e.count !== undefined) hit.count = e.count;
      this.hits.push(hit);
    }
  }
}

/** Backtest over frames already in memory. */
export function backtest(query: StandingQuery, frames: Iterable<BacktestFrame>, options: BacktestOptions = {}): { hits: BacktestHit[]; frames: number; truncated: boolean } {
  const b = new Backtest(query, options);
  for (const f of frames) b.feed(f);
  return { hits: b.hits, frames: b.frames, truncated: b.truncated };
}
