import type { BacktestHit, SceneTrack, StandingQuery } from '@chronotrace/contracts';
import { AnomalyEngine, type AnomalySite } from '../anomaly/anomaly-engine';
import { processLocalClock } from './time-window';
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
  /** Each camera's lines, schedules and clock, for an anomaly rule (as live). Default: none, the process's clock. */
  siteOf?: (camera: string) => AnomalySite;
}

export const DEFAULT_BACKTEST_MAX_HITS = 500;

/**
 * Replays stored scene frames (fed oldest first, in pages if need be) through a fresh TrackMatcher
 * armed with this one query, so hysteresis, once-per-track and cooldown behave as they would have
 * live. Pure; fires nothing. Disarmed queries replay too: that is the point of trying one before arming it.
 */
export class Backtest {
  readonly #matcher: TrackMatcher | null;
  /** A plan with an anomaly rule replays through the anomaly engine, as it runs live. */
  readonly #anomalies: AnomalyEngine | null;
  readonly #max: number;
  readonly hits: BacktestHit[] = [];
  frames = 0;
  truncated = false;

  constructor(query: StandingQuery, options: BacktestOptions = {}) {
    if (query.plan.anomaly) {
      this.#matcher = null;
      this.#anomalies = new AnomalyEngine(options.siteOf ?? (() => ({ lines: [], schedule: () => null, clock: processLocalClock })));
      this.#anomalies.arm({ id: query.id, plan: query.plan, version: query.version });
    } else {
      this.#anomalies = null;
      this.#matcher = new TrackMatcher(options.matcher ?? {});
      this.#matcher.arm({ id: query.id, plan: query.plan, version: query.version });
    }
    this.#max = options.maxHits ?? DEFAULT_BACKTEST_MAX_HITS;
  }

  /** `similarity`: the frame's judgements, for a query with a similarity term (replayed from stored embeddings). */
  feed(f: BacktestFrame, similarity?: ReadonlyMap<string, SimilarityJudgement>): void {
    this.frames++;
    const events = this.#matcher
      ? this.#matcher.evaluate({ camera: f.camera, at: f.capturedAt, tracks: f.tracks, ...(similarity ? { similarity } : {}) })
      : this.#anomalies!.evaluate({ camera: f.camera, at: f.capturedAt, width: f.width, height: f.height, tracks: f.tracks });
    for (const e of events) {
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
        scores: 'scores' in e ? e.scores : { hysteresis: 1, detection: e.tracks.length ? e.tracks.reduce((x, t) => x + t.score, 0) / e.tracks.length : 0, color: 1 },
        reason: e.reason,
        frame: { width: f.width, height: f.height },
      };
      if (e.count !== undefined) hit.count = e.count;
      if ('anomaly' in e) hit.anomaly = e.anomaly;
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
