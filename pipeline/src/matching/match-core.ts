import { queryPlanSchema, type AlertMessage, type SceneFrameMeta, type StandingQuery } from '@chronotrace/contracts';
import { AnomalyEngine, type AnomalyEngineStats, type AnomalySite, type LineCounts } from '../anomaly/anomaly-engine';
import { buildAlert } from './alert-builder';
import { processLocalClock } from './time-window';
import { TrackMatcher, type SimilarityJudgement, type TrackMatcherOptions, type TrackMatcherStats } from './track-matcher';

/** A camera with no lines and no schedules, on the process's clock. */
export const BARE_SITE: AnomalySite = { lines: [], schedule: () => null, clock: processLocalClock };

export interface MatchCoreStats {
  matcher: TrackMatcherStats;
  anomalies: AnomalyEngineStats;
  alerts: number;
  /** Armed queries the matcher refused (a stored plan that no longer validates). */
  rejectedQueries: number;
  /** Frames skipped as not newer than their camera's last. */
  staleFrames: number;
}

/**
 * The match stage's pure core: keeps the TrackMatcher's armed set equal to the armed standing
 * queries, evaluates each scene frame and turns events into alert messages.
 */
export class MatchCore {
  readonly #matcher: TrackMatcher;
  readonly #anomalies: AnomalyEngine;
  readonly #queries = new Map<string, StandingQuery>();
  /** Camera lists of the armed queries with a similarity term (null: every camera), kept off the per-frame path. */
  #similarityCameras: (readonly string[] | null)[] = [];
  #alerts = 0;
  #stale = 0;
  #rejected = new Set<string>();
  /** Capture time of the newest frame evaluated per camera. */
  readonly #lastAt = new Map<string, number>();

  /** `siteOf`: each camera's lines, schedules and clock, for the anomaly rules. */
  constructor(options: TrackMatcherOptions = {}, siteOf: (camera: string) => AnomalySite = () => BARE_SITE) {
    this.#matcher = new TrackMatcher(options);
    this.#anomalies = new AnomalyEngine(siteOf);
  }

  /**
   * Makes the armed set equal to `queries` (disarmed ones are ignored). A query whose plan the matcher
   * refuses is left out and reported, never thrown: one bad row must not stop every other query.
   */
  setQueries(queries: readonly StandingQuery[]): { armed: number; rejected: { id: string; error: string }[] } {
    const wanted = new Map(queries.filter((q) => q.armed).map((q) => [q.id, q]));
    for (const { id } of this.#matcher.armed()) if (!wanted.has(id) || wanted.get(id)!.plan.anomaly) this.#matcher.disarm(id);
    for (const { id } of this.#anomalies.armed()) if (!wanted.has(id) || !wanted.get(id)!.plan.anomaly) this.#anomalies.disarm(id);
    for (const id of this.#queries.keys()) if (!wanted.has(id)) this.#queries.delete(id);
    const rejected: { id: string; error: string }[] = [];
    this.#rejected = new Set();
    for (const q of wanted.values()) {
      try {
        // One engine: a plan with an anomaly rule is the anomaly engine's, any other the matcher's.
        if (q.plan.anomaly) {
          const parsed = queryPlanSchema.safeParse(q.plan);
          if (!parsed.success) throw new Error(`plan of query ${q.id} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
          this.#anomalies.arm({ id: q.id, plan: q.plan, version: q.version });
        } else this.#matcher.arm({ id: q.id, plan: q.plan, version: q.version });
        this.#queries.set(q.id, q);
      } catch (e) {
        this.#matcher.disarm(q.id);
        this.#anomalies.disarm(q.id);
        this.#queries.delete(q.id);
        this.#rejected.add(q.id);
        rejected.push({ id: q.id, error: (e as Error).message });
      }
    }
    this.#similarityCameras = [...this.#queries.values()].filter((q) => q.plan.similarity).map((q) => q.plan.cameras ?? null);
    return { armed: this.#queries.size, rejected };
  }

  get size(): number {
    return this.#queries.size;
  }

  /** Whether an armed query has a similarity term on this camera (the stage then asks the embedder). */
  wantsSimilarity(camera: string): boolean {
    return this.#similarityCameras.some((cameras) => cameras === null || cameras.includes(camera));
  }

  /** Whether the frame is newer than the last one evaluated for its camera (a redelivered or late frame is not). */
  isNewer(meta: SceneFrameMeta): boolean {
    return meta.capturedAt > (this.#lastAt.get(meta.camera) ?? Number.NEGATIVE_INFINITY);
  }

  /**
   * Evaluates one scene frame. A frame not newer than the camera's last one (a redelivery, or one
   * overtaken) is skipped and counted: replaying it would shift hysteresis backwards and make tracks
   * that are still in view look gone.
   */
  evaluate(meta: SceneFrameMeta, hasSnapshot: boolean, firedAt = Date.now(), similarity?: ReadonlyMap<string, SimilarityJudgement>): AlertMessage[] {
    if (!this.isNewer(meta)) {
      this.#stale++;
      return [];
    }
    this.#lastAt.set(meta.camera, meta.capturedAt);
    const events = [
      ...this.#matcher.evaluate({ camera: meta.camera, at: meta.capturedAt, tracks: meta.scene.tracks, ...(similarity ? { similarity } : {}) }),
      ...(this.#anomalies.size > 0 ? this.#anomalies.evaluate({ camera: meta.camera, at: meta.capturedAt, width: meta.width, height: meta.height, tracks: meta.scene.tracks }) : []),
    ];
    const out: AlertMessage[] = [];
    for (const e of events) {
      const q = this.#queries.get(e.queryId);
      if (q) out.push(buildAlert(e, q, meta, hasSnapshot, firedAt));
    }
    this.#alerts += out.length;
    return out;
  }

  toJSON(): MatchCoreStats {
    return { matcher: this.#matcher.toJSON(), anomalies: this.#anomalies.toJSON(), alerts: this.#alerts, rejectedQueries: this.#rejected.size, staleFrames: this.#stale };
  }

  /** Line crossings per camera, line and direction since start. */
  lineCounts(): LineCounts {
    return this.#anomalies.lineCounts();
  }
}
