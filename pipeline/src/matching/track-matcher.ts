import { BASIC_COLORS, queryPlanSchema, type ColorPart, type AlertScores, type AlertTrackEvidence, type CocoClass, type QueryCountOp, type QueryPlan } from '@chronotrace/contracts';
import { InvalidArmedQueryError, TrackMatcherOptionsError } from './errors';
import type { MatchTrack } from './match-track';
import { compileTimeWindow, inTimeWindow, processLocalClock, type CompiledTimeWindow, type LocalClock, type LocalTime } from './time-window';

export interface TrackMatcherOptions {
  /** A match needs the conditions to hold on `n` of the last `m` evaluated frames (1 ≤ n ≤ m ≤ 32). Default { n: 3, m: 5 }. */
  hysteresis?: { n: number; m: number };
  /** After an event, the same query stays quiet on the same camera this long (ms, by frame time). Default 60 000. */
  cooldownMs?: number;
  /** Turns a frame time into the site's local day and minute, for time windows. Default: the process's local time zone. */
  clock?: LocalClock;
}

export const DEFAULT_TRACK_MATCHER_OPTIONS = {
  hysteresis: { n: 3, m: 5 },
  cooldownMs: 60_000,
} as const;

/** A query to arm: its id, compiled plan and edit version (events carry it as `planVersion`). */
export interface ArmedQueryInput {
  id: string;
  plan: QueryPlan;
  version: number;
}

/** How a frame scored on a query's similarity term (from the embedder and the calibrator). */
export type SimilarityJudgement = NonNullable<AlertScores['similarity']> & {
  /** Above the threshold calibrated for this query and camera (false while still calibrating). */
  holds: boolean;
};

/** One frame's confirmed tracks of one camera. */
export interface MatchFrame {
  camera: string;
  /** Frame time, ms epoch. */
  at: number;
  tracks: readonly MatchTrack[];
  /** By query id: the frame's similarity judgement for queries with a similarity term. A query with one holds only where this says so. */
  similarity?: ReadonlyMap<string, SimilarityJudgement>;
}

/** What one matched track contributes to an event (the alert's evidence). */
export type MatchedTrackEvidence = AlertTrackEvidence;

export interface MatchEvent {
  queryId: string;
  /** The armed query's version (its edit counter), not the plan schema version. */
  planVersion: number;
  /** The plan that matched (shared, do not mutate). */
  plan: QueryPlan;
  /** 'track': one track matched; 'count': the number of matching tracks on the camera met the count condition. */
  kind: 'track' | 'count';
  camera: string;
  at: number;
  tracks: MatchedTrackEvidence[];
  /** Matching tracks on this frame (count queries only). */
  count?: number;
  scores: {
    /** Frames matched in the window / window size. */
    hysteresis: number;
    /** Mean detector score of the matched tracks (0 for an empty count match). */
    detection: number;
    /** Lowest colorScore of the matched tracks (1 without colour constraints or tracks). */
    color: number;
    similarity?: AlertScores['similarity'];
  };
  /** e.g. 'person wearing red (upper) in zone "entrance" for 72 s: 3 of the last 5 frames'. */
  reason: string;
}

export interface TrackMatcherStats {
  queries: number;
  countQueries: number;
  frames: number;
  events: number;
  /** Events held back by the per (query, camera) cooldown. */
  suppressed: number;
  /** Query × track condition checks (answered once per group of queries with the same conditions), plus one per count query evaluated on a frame. */
  evaluations: number;
  /** Evaluations of the last frame. */
  lastFrameEvaluations: number;
  /** Live hysteresis states of (query, track) pairs. */
  pairs: number;
  tracks: number;
}

/** Hysteresis of one (query, track) pair. Created on the first frame that holds or is vetoed. */
interface PairState {
  /** The query this state belongs to (a slot is reused after a disarm). */
  q: ArmedQuery;
  /** Bit 0 = the newest evaluated frame held. */
  bits: number;
  /** Bit set = a negated carried object was seen on that frame ("without a backpack" over the window). */
  veto: number;
  fired: boolean;
}

/** Per (query, camera): cooldown and, for count queries, the camera-level hysteresis. */
interface CameraState {
  lastFiredAt: number;
  bits: number;
  /** Camera frame index of the newest bit (states are shifted lazily by the frames they missed). */
  frame: number;
  /** A count query fired and has not dropped below n of m since. */
  active: boolean;
}

interface ArmedQuery {
  id: string;
  /**
   * Id of this query's per-track conditions (subject, zones, dwell, time, similarity): queries with the
   * same conditions share one evaluation per track and frame, whatever their cameras, counts or state.
   */
  cond: number;
  /** Index of this query's pair state in each TrackRecord.pairs; reused after a disarm. */
  slot: number;
  version: number;
  plan: QueryPlan;
  classes: readonly string[];
  /** Absent when the query names no camera. */
  cameras: readonly string[] | undefined;
  zones: readonly string[] | undefined;
  dwellMs: number;
  time: CompiledTimeWindow | undefined;
  count: { op: QueryCountOp; n: number } | undefined;
  hasCarrying: boolean;
  hasColors: boolean;
  cameraStates: Map<string, CameraState>;
  /** The last camera state looked up: a frame's tracks all ask for the same camera's. */
  lastCamera: string | undefined;
  lastCameraState: CameraState | undefined;
  /** Count queries: the global frame number they were last touched on. */
  stamp: number;
}

interface TrackRecord {
  /** Camera frame index this track was last present on. */
  seen: number;
  /** By query slot: an array index is cheaper than a Map lookup on the hot path. */
  pairs: (PairState | undefined)[];
  /**
   * By condition id: 1 once the conditions held (or were vetoed) on this track. Until then no query
   * with them has a pair state for the track, so a frame where they fail skips the whole group.
   */
  condSeen: Uint8Array;
  /** Groups of per-track queries whose conditions held on this track: checked on every frame (their hysteresis must see the misses too). */
  active: CondGroup[];
  activeSet: Set<CondGroup>;
}

/** The queries of one index bucket (camera × class) that share their per-track conditions. */
interface CondGroup {
  cond: number;
  /** Per-track queries. */
  queries: ArmedQuery[];
  /** Count queries: the group's matching tracks of a frame are collected once for all of them. */
  counts: ArmedQuery[];
  /** Frame the count queries were last touched on. */
  stamp: number;
  /** The colours the conditions need, as bit masks per part: a track lacking them fails without a full check. */
  colorMasks: { part: ColorPart; mask: number }[] | null;
  /** Track stamp of the last check (a group listed under several colours is checked once per track). */
  seen: number;
}

/** The groups of one camera × class: those without colours, and those indexed by their first colour condition. */
interface Bucket {
  byCond: Map<number, CondGroup>;
  plain: CondGroup[];
  /** `part:colour` → groups whose first colour condition accepts that colour: a track is checked only against the colours it shows. */
  byColor: Map<string, CondGroup[]>;
}

interface CameraRecord {
  frame: number;
  tracks: Map<string, TrackRecord>;
}

/** Bucket key for queries that name no camera. */
const ANY_CAMERA = '*';
const HOLD = 1;
const VETO = 2;

function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function compare(count: number, op: QueryCountOp, n: number): boolean {
  switch (op) {
    case '>':
      return count > n;
    case '>=':
      return count >= n;
    case '<':
      return count < n;
    case '<=':
      return count <= n;
    case '=':
      return count === n;
  }
}

/**
 * Evaluates armed standing queries on each frame's tracks (a pure core: no I/O, time only from the frames).
 *
 * - Per-track queries: the conditions (class, colours, carried objects, zones, dwell, time window) must
 *   hold on n of the last m frames the track was evaluated on, including the newest; then the pair fires
 *   once for the track's life (its state is dropped when the track leaves the frame).
 * - "Without X" holds only if X was seen on none of the last m frames of the track.
 * - Count queries: the number of tracks meeting the per-track conditions on a frame satisfies `op n`
 *   on n of the last m frames of the camera; they fire on entering that state and again only after it
 *   has cleared. '<', '<=' and '= 0' count zero, so they are evaluated on every frame of their cameras.
 * - Every event, per-track or count, starts a cooldown for its (query, camera); an event due in it is
 *   held back (not lost: a still-matching track fires once the cooldown is over).
 *
 * Queries are indexed by camera and subject class, so a frame touches only the queries that name its
 * camera (or no camera) and one of its tracks' classes.
 */
export class TrackMatcher {
  readonly #n: number;
  readonly #m: number;
  readonly #mask: number;
  readonly #cooldownMs: number;
  readonly #clock: LocalClock;
  readonly #queries = new Map<string, ArmedQuery>();
  /** camera (or '*') → class → queries. */
  readonly #index = new Map<string, Map<string, Bucket>>();
  /** camera (or '*') → count queries that zero tracks can satisfy. */
  readonly #zeroCount = new Map<string, ArmedQuery[]>();
  readonly #cameras = new Map<string, CameraRecord>();
  /** Reused per frame: count queries touched on the current frame. */
  readonly #touched: ArmedQuery[] = [];
  readonly #freeSlots: number[] = [];
  #nextSlot = 0;
  /** Condition keys → ids; per id the result for the current track and the stamp it was computed at. */
  readonly #conds = new Map<string, number>();
  #condResult = new Int8Array(16);
  #condStamp = new Uint32Array(16);
  /** Per condition: the track stamp it last collected a match on, and the frame its matches are of. */
  #pushStamp = new Uint32Array(16);
  #matchedFrame = new Uint32Array(16);
  #matched: MatchTrack[][] = [];
  /** The current track's colours present, as bit masks: any, upper, lower. */
  readonly #trackMasks = new Uint32Array(3);
  #trackStamp = 0;
  #frameNo = 0;
  #frames = 0;
  #events = 0;
  #suppressed = 0;
  #evaluations = 0;
  #lastFrameEvaluations = 0;
  #countQueries = 0;
  /** Local time of the current frame, computed at most once per frame. */
  #local: LocalTime | undefined;
  #at = 0;

  constructor(options: TrackMatcherOptions = {}) {
    const { n, m } = options.hysteresis ?? DEFAULT_TRACK_MATCHER_OPTIONS.hysteresis;
    if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || m > 32 || n > m) {
      throw new TrackMatcherOptionsError(`hysteresis must be integers with 1 ≤ n ≤ m ≤ 32, got n=${n} m=${m}`);
    }
    const cooldownMs = options.cooldownMs ?? DEFAULT_TRACK_MATCHER_OPTIONS.cooldownMs;
    if (!Number.isFinite(cooldownMs) || cooldownMs < 0) throw new TrackMatcherOptionsError(`cooldownMs must be ≥ 0, got ${cooldownMs}`);
    this.#n = n;
    this.#m = m;
    this.#mask = m === 32 ? 0xffffffff : (1 << m) - 1;
    this.#cooldownMs = cooldownMs;
    this.#clock = options.clock ?? processLocalClock;
  }

  /**
   * Arms a query, or replaces it when the version differs (its hysteresis, fired tracks and cooldowns
   * start afresh: a new version may mean something else). The same id and version again is a no-op.
   */
  arm(query: ArmedQueryInput): 'armed' | 'replaced' | 'unchanged' {
    if (typeof query.id !== 'string' || query.id.length === 0) throw new InvalidArmedQueryError('query id must be a non-empty string');
    const parsed = queryPlanSchema.safeParse(query.plan);
    if (!parsed.success) {
      throw new InvalidArmedQueryError(`plan of query ${query.id} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const existing = this.#queries.get(query.id);
    if (existing && existing.version === query.version) return 'unchanged';
    if (existing) this.#remove(existing);
    const plan = query.plan;
    const q: ArmedQuery = {
      id: query.id,
      cond: this.#condId(plan, query.id),
      slot: this.#freeSlots.pop() ?? this.#nextSlot++,
      version: query.version,
      plan,
      classes: [...new Set(plan.subject.classes)],
      cameras: plan.cameras ? [...new Set(plan.cameras)] : undefined,
      zones: plan.zones,
      dwellMs: plan.dwell ? plan.dwell.minSeconds * 1000 : 0,
      time: plan.time ? compileTimeWindow(plan.time) : undefined,
      count: plan.count,
      hasCarrying: (plan.subject.carrying?.length ?? 0) > 0,
      hasColors: (plan.subject.colors?.length ?? 0) > 0,
      cameraStates: new Map(),
      lastCamera: undefined,
      lastCameraState: undefined,
      stamp: -1,
    };
    this.#queries.set(q.id, q);
    for (const camera of q.cameras ?? [ANY_CAMERA]) {
      let byClass = this.#index.get(camera);
      if (!byClass) this.#index.set(camera, (byClass = new Map()));
      for (const cls of q.classes) {
        let bucket = byClass.get(cls);
        if (!bucket) byClass.set(cls, (bucket = { byCond: new Map(), plain: [], byColor: new Map() }));
        let group = bucket.byCond.get(q.cond);
        if (!group) {
          group = { cond: q.cond, queries: [], counts: [], stamp: -1, colorMasks: colorMasksOf(plan), seen: 0 };
          bucket.byCond.set(q.cond, group);
          for (const key of colorKeysOf(plan)) {
            const list = key === null ? bucket.plain : (bucket.byColor.get(key) ?? []);
            list.push(group);
            if (key !== null && list.length === 1) bucket.byColor.set(key, list);
          }
        }
        (q.count ? group.counts : group.queries).push(q);
      }
      if (q.count && compare(0, q.count.op, q.count.n)) {
        const zero = this.#zeroCount.get(camera);
        if (zero) zero.push(q);
        else this.#zeroCount.set(camera, [q]);
      }
    }
    if (q.count) this.#countQueries++;
    return existing ? 'replaced' : 'armed';
  }

  /** Disarms a query; false when it was not armed. Its state goes with it. */
  disarm(id: string): boolean {
    const q = this.#queries.get(id);
    if (!q) return false;
    this.#remove(q);
    return true;
  }

  /** Ids and versions of the armed queries. */
  armed(): { id: string; version: number }[] {
    return [...this.#queries.values()].map((q) => ({ id: q.id, version: q.version }));
  }

  /** Evaluates one frame of one camera; returns the events it fires (usually none). */
  evaluate(frame: MatchFrame): MatchEvent[] {
    const events: MatchEvent[] = [];
    const frameNo = ++this.#frameNo;
    this.#frames++;
    const evaluationsBefore = this.#evaluations;
    this.#local = undefined;
    this.#at = frame.at;
    let cam = this.#cameras.get(frame.camera);
    if (!cam) this.#cameras.set(frame.camera, (cam = { frame: 0, tracks: new Map() }));
    const camFrame = ++cam.frame;
    const touched = this.#touched;
    touched.length = 0;
    const own = this.#index.get(frame.camera);
    const any = this.#index.get(ANY_CAMERA);

    for (const track of frame.tracks) {
      let rec = cam.tracks.get(track.id);
      if (!rec) cam.tracks.set(track.id, (rec = { seen: camFrame, pairs: [], condSeen: new Uint8Array(this.#condResult.length), active: [], activeSet: new Set() }));
      rec.seen = camFrame;
      if (track.state !== 'confirmed') continue;
      // A new stamp per track and frame invalidates every cached condition result at once.
      this.#trackStamp = (this.#trackStamp + 1) >>> 0;
      if (this.#trackStamp === 0) {
        this.#condStamp.fill(0);
        this.#pushStamp.fill(0);
        this.#trackStamp = 1;
      }
      this.#trackMasks[0] = colorMask(track, 'any');
      this.#trackMasks[1] = colorMask(track, 'upper');
      this.#trackMasks[2] = colorMask(track, 'lower');
      // Groups that held on this track before, then the class's groups without colours and those of the colours it shows.
      if (rec.active.length > 0) this.#evaluateGroups(rec.active, track, rec, frame, camFrame, frameNo, events);
      const a = own?.get(track.label);
      const b = any?.get(track.label);
      if (a) this.#evaluateBucket(a, track, rec, frame, camFrame, frameNo, events);
      if (b) this.#evaluateBucket(b, track, rec, frame, camFrame, frameNo, events);
    }

    // Count queries that zero tracks satisfy must see every frame of their cameras.
    const zeroOwn = this.#zeroCount.get(frame.camera);
    const zeroAny = this.#zeroCount.get(ANY_CAMERA);
    if (zeroOwn) for (const q of zeroOwn) this.#touchCount(q, frameNo);
    if (zeroAny) for (const q of zeroAny) if (!q.cameras) this.#touchCount(q, frameNo);
    for (const q of touched) this.#evaluateCount(q, frame, camFrame, events);

    // A track absent from this frame has left: forget its pairs (a returning id would fire again).
    for (const [id, rec] of cam.tracks) if (rec.seen !== camFrame) cam.tracks.delete(id);

    this.#lastFrameEvaluations = this.#evaluations - evaluationsBefore;
    this.#events += events.length;
    return events;
  }

  toJSON(): TrackMatcherStats {
    let pairs = 0;
    let tracks = 0;
    for (const cam of this.#cameras.values()) {
      tracks += cam.tracks.size;
      for (const rec of cam.tracks.values()) for (const p of rec.pairs) if (p && this.#queries.get(p.q.id) === p.q) pairs++;
    }
    return {
      queries: this.#queries.size,
      countQueries: this.#countQueries,
      frames: this.#frames,
      events: this.#events,
      suppressed: this.#suppressed,
      evaluations: this.#evaluations,
      lastFrameEvaluations: this.#lastFrameEvaluations,
      pairs,
      tracks,
    };
  }

  #remove(q: ArmedQuery): void {
    this.#queries.delete(q.id);
    this.#freeSlots.push(q.slot);
    if (q.count) this.#countQueries--;
    for (const camera of q.cameras ?? [ANY_CAMERA]) {
      const byClass = this.#index.get(camera);
      for (const cls of q.classes) {
        const bucket = byClass?.get(cls);
        const group = bucket?.byCond.get(q.cond);
        if (!bucket || !group) continue;
        const list = q.count ? group.counts : group.queries;
        const i = list.indexOf(q);
        if (i >= 0) list.splice(i, 1);
        if (group.queries.length === 0 && group.counts.length === 0) {
          bucket.byCond.delete(q.cond);
          for (const key of colorKeysOf(q.plan)) {
            const from = key === null ? bucket.plain : bucket.byColor.get(key);
            const j = from?.indexOf(group) ?? -1;
            if (from && j >= 0) from.splice(j, 1);
            if (key !== null && from?.length === 0) bucket.byColor.delete(key);
          }
        }
        if (bucket.byCond.size === 0) byClass?.delete(cls);
      }
      if (byClass?.size === 0) this.#index.delete(camera);
      const zero = this.#zeroCount.get(camera);
      const i = zero ? zero.indexOf(q) : -1;
      if (zero && i >= 0) zero.splice(i, 1);
      if (zero?.length === 0) this.#zeroCount.delete(camera);
    }
    // Pair states of this query are told apart by `q` when the slot is reused, and go when their tracks leave.
  }

  #timeOk(q: ArmedQuery): boolean {
    if (!q.time) return true;
    this.#local ??= this.#clock(this.#at);
    return inTimeWindow(q.time, this.#local);
  }

  #touchCount(q: ArmedQuery, frameNo: number): void {
    if (q.stamp === frameNo) return;
    q.stamp = frameNo;
    this.#touched.push(q);
  }

  /** The tracks that met condition `cond` on frame `frameNo` (collected once, shared by its count queries). */
  #matchedOf(cond: number, frameNo: number): MatchTrack[] {
    if (this.#matchedFrame[cond] !== frameNo) {
      this.#matchedFrame[cond] = frameNo;
      (this.#matched[cond] ??= []).length = 0;
    }
    return (this.#matched[cond] ??= []);
  }

  #evaluateBucket(b: Bucket, track: MatchTrack, rec: TrackRecord, frame: MatchFrame, camFrame: number, frameNo: number, events: MatchEvent[]): void {
    if (b.plain.length > 0) this.#evaluateGroups(b.plain, track, rec, frame, camFrame, frameNo, events);
    if (b.byColor.size === 0) return;
    for (let p = 0; p < 3; p++) {
      let mask = this.#trackMasks[p]!;
      while (mask !== 0) {
        const bit = 31 - Math.clz32(mask);
        mask &= ~(1 << bit);
        const list = b.byColor.get(COLOR_KEYS[p]![bit]!);
        if (list) this.#evaluateGroups(list, track, rec, frame, camFrame, frameNo, events);
      }
    }
  }

  #evaluateGroups(groups: readonly CondGroup[], track: MatchTrack, rec: TrackRecord, frame: MatchFrame, camFrame: number, frameNo: number, events: MatchEvent[]): void {
    const masks = this.#trackMasks;
    const stamp = this.#trackStamp;
    for (const g of groups) {
      // Once per track and frame, however many lists name the group.
      if (g.seen === stamp) continue;
      g.seen = stamp;
      const first = g.queries[0] ?? g.counts[0];
      if (!first) continue;
      // A colour the track does not show at all: the conditions cannot hold (the full check would say the same).
      let possible = true;
      if (g.colorMasks) for (const c of g.colorMasks) if ((masks[PART_INDEX[c.part]]! & c.mask) === 0) possible = false;
      const r = possible ? this.#shared(first, track, frame) : 0;
      if (g.counts.length > 0) {
        // One check answers every count query of the group: the track joins the condition's matches once.
        this.#evaluations += g.counts.length;
        if (r === HOLD) {
          if (this.#pushStamp[g.cond] !== this.#trackStamp) {
            this.#pushStamp[g.cond] = this.#trackStamp;
            this.#matchedOf(g.cond, frameNo).push(track);
          }
          if (g.stamp !== frameNo) {
            g.stamp = frameNo;
            for (const q of g.counts) this.#touchCount(q, frameNo);
          }
        }
        if (g.queries.length === 0) continue;
      }
      if (g.cond >= rec.condSeen.length) {
        const grown = new Uint8Array(this.#condResult.length);
        grown.set(rec.condSeen);
        rec.condSeen = grown;
      }
      if (r !== 0) {
        if (g.queries.length > 0 && !rec.activeSet.has(g)) {
          rec.activeSet.add(g);
          rec.active.push(g);
        }
        rec.condSeen[g.cond] = 1;
      }
      // Never held on this track, and not now: no query of the group has anything to do (each still
      // counts as evaluated: the group's one check answered for all of them).
      else if (rec.condSeen[g.cond] === 0) {
        this.#evaluations += g.queries.length;
        continue;
      }
      for (const q of g.queries) this.#evaluateTrack(q, track, rec, frame, camFrame, frameNo, events);
    }
  }

  #evaluateTrack(q: ArmedQuery, track: MatchTrack, rec: TrackRecord, frame: MatchFrame, camFrame: number, frameNo: number, events: MatchEvent[]): void {
    this.#evaluations++;
    let pair = rec.pairs[q.slot];
    if (pair && pair.q !== q) pair = undefined;
    // A fired pair stays fired until the track leaves: nothing left to evaluate.
    if (pair?.fired) return;
    const r = this.#shared(q, track, frame);
    if (!pair) {
      if (r === 0) return;
      rec.pairs[q.slot] = pair = { q, bits: 0, veto: 0, fired: false };
    }
    const hold = r === HOLD ? 1 : 0;
    pair.bits = ((pair.bits << 1) | hold) & this.#mask;
    pair.veto = ((pair.veto << 1) | (r & VETO ? 1 : 0)) & this.#mask;
    if (hold === 0 || pair.veto !== 0) return;
    const hits = popcount(pair.bits);
    if (hits < this.#n) return;
    const cs = this.#cameraState(q, frame.camera, camFrame);
    if (this.#coolingDown(cs, frame.at)) return;
    pair.fired = true;
    cs.lastFiredAt = frame.at;
    events.push(this.#event(q, 'track', frame, [track], hits, undefined));
  }

  #evaluateCount(q: ArmedQuery, frame: MatchFrame, camFrame: number, events: MatchEvent[]): void {
    this.#evaluations++;
    const count = q.count;
    if (!count) return;
    const cs = this.#cameraState(q, frame.camera, camFrame);
    // Frames of this camera the query was not touched on held no matching track: shift in zeros.
    const gap = camFrame - cs.frame;
    // The skipped frames held nothing: if the hits fell below n on any of them, the state cleared.
    if (gap >= 2 && popcount(gap - 1 >= this.#m ? 0 : (cs.bits << (gap - 1)) & this.#mask) < this.#n) cs.active = false;
    cs.bits = gap >= this.#m ? 0 : (cs.bits << gap) & this.#mask;
    cs.frame = camFrame;
    const matched = this.#matchedFrame[q.cond] === this.#frameNo ? (this.#matched[q.cond] ?? []) : [];
    const hold = this.#timeOk(q) && similarityHolds(q, frame) && compare(matched.length, count.op, count.n) ? 1 : 0;
    cs.bits = (cs.bits | hold) & this.#mask;
    const hits = popcount(cs.bits);
    if (hits < this.#n) cs.active = false;
    if (cs.active || hold === 0 || hits < this.#n) return;
    if (this.#coolingDown(cs, frame.at)) return;
    cs.active = true;
    cs.lastFiredAt = frame.at;
    events.push(this.#event(q, 'count', frame, [...matched], hits, matched.length));
  }

  #cameraState(q: ArmedQuery, camera: string, camFrame: number): CameraState {
    if (q.lastCamera === camera && q.lastCameraState) return q.lastCameraState;
    let cs = q.cameraStates.get(camera);
    if (!cs) q.cameraStates.set(camera, (cs = { lastFiredAt: Number.NEGATIVE_INFINITY, bits: 0, frame: camFrame - 1, active: false }));
    q.lastCamera = camera;
    q.lastCameraState = cs;
    return cs;
  }

  #coolingDown(cs: CameraState, at: number): boolean {
    if (at - cs.lastFiredAt >= this.#cooldownMs) return false;
    this.#suppressed++;
    return true;
  }

  /** Time window and per-track conditions, computed once per track and frame for every query sharing them. */
  #shared(q: ArmedQuery, track: MatchTrack, frame: MatchFrame): number {
    const c = q.cond;
    if (this.#condStamp[c] === this.#trackStamp) return this.#condResult[c]!;
    const r = this.#timeOk(q) ? this.#conditions(q, track, frame) : 0;
    this.#condStamp[c] = this.#trackStamp;
    this.#condResult[c] = r;
    return r;
  }

  #condId(plan: QueryPlan, id: string): number {
    // The similarity judgement is looked up by query id: such queries share nothing.
    const key = JSON.stringify([plan.subject, plan.zones ?? null, plan.dwell ?? null, plan.time ?? null, plan.similarity ? id : null]);
    let c = this.#conds.get(key);
    if (c === undefined) {
      c = this.#conds.size;
      this.#conds.set(key, c);
      if (c >= this.#condResult.length) {
        const result = new Int8Array(this.#condResult.length * 2);
        result.set(this.#condResult);
        const stamp = new Uint32Array(this.#condStamp.length * 2);
        stamp.set(this.#condStamp);
        const push = new Uint32Array(this.#pushStamp.length * 2);
        push.set(this.#pushStamp);
        const frame = new Uint32Array(this.#matchedFrame.length * 2);
        frame.set(this.#matchedFrame);
        this.#condResult = result;
        this.#condStamp = stamp;
        this.#pushStamp = push;
        this.#matchedFrame = frame;
      }
    }
    return c;
  }

  /** HOLD when every condition holds on this frame, VETO (maybe with nothing else) when a negated carried object is present. */
  #conditions(q: ArmedQuery, track: MatchTrack, frame: MatchFrame): number {
    if (!similarityHolds(q, frame)) return 0;
    const at = frame.at;
    let zone: string | undefined;
    if (q.zones) {
      zone = this.#bestZone(q.zones, track);
      if (zone === undefined) return 0;
    }
    if (q.dwellMs > 0 && dwellMs(track, zone, at) < q.dwellMs) return 0;
    if (q.hasColors && colorScore(q.plan, track) < 0) return 0;
    if (!q.hasCarrying) return HOLD;
    let result = HOLD;
    for (const c of q.plan.subject.carrying ?? []) {
      const has = carries(track, c.classes, c.colors);
      if (c.negated) {
        if (has) result = VETO;
      } else if (!has) {
        if (result === HOLD) result = 0;
      }
    }
    return result;
  }

  /** The query zone the track is in with the longest dwell; undefined when it is in none. */
  #bestZone(zones: readonly string[], track: MatchTrack): string | undefined {
    let best: string | undefined;
    let bestDwell = -1;
    for (const z of track.zones) {
      if (!zones.includes(z)) continue;
      const d = track.dwell[z] ?? 0;
      if (d > bestDwell) {
        best = z;
        bestDwell = d;
      }
    }
    return best;
  }

  #event(q: ArmedQuery, kind: 'track' | 'count', frame: MatchFrame, tracks: readonly MatchTrack[], hits: number, count: number | undefined): MatchEvent {
    const evidence = tracks.map((t): MatchedTrackEvidence => {
      const zone = q.zones ? this.#bestZone(q.zones, t) : undefined;
      return {
        trackId: t.id,
        label: t.label,
        box: { ...t.box },
        score: t.score,
        colorScore: q.hasColors ? Math.max(0, colorScore(q.plan, t)) : 1,
        zones: q.zones ? t.zones.filter((z) => q.zones?.includes(z)) : [],
        dwellSeconds: Math.round(dwellMs(t, zone, frame.at) / 100) / 10,
        carrying: carriedClasses(t),
      };
    });
    const detection = evidence.length === 0 ? 0 : evidence.reduce((s, e) => s + e.score, 0) / evidence.length;
    const color = evidence.reduce((s, e) => Math.min(s, e.colorScore), 1);
    const event: MatchEvent = {
      queryId: q.id,
      planVersion: q.version,
      plan: q.plan,
      kind,
      camera: frame.camera,
      at: frame.at,
      tracks: evidence,
      scores: { hysteresis: hits / this.#m, detection, color },
      reason: reasonOf(q.plan, kind, evidence, count, hits, this.#m),
    };
    if (count !== undefined) event.count = count;
    const j = q.plan.similarity ? frame.similarity?.get(q.id) : undefined;
    if (j) event.scores.similarity = { score: j.score, threshold: j.threshold, percentile: j.percentile, model: j.model };
    return event;
  }
}

const PART_INDEX: Record<ColorPart, number> = { any: 0, upper: 1, lower: 2 };
const PARTS: readonly ColorPart[] = ['any', 'upper', 'lower'];
const COLOR_BIT = new Map<string, number>(BASIC_COLORS.map((c, i) => [c, 1 << i]));
/** `part:colour` by part index and colour bit. */
const COLOR_KEYS: readonly (readonly string[])[] = PARTS.map((p) => BASIC_COLORS.map((c) => `${p}:${c}`));

/** Where a plan's group is listed in its bucket: under each colour of its first colour condition, or null (no colours). */
function colorKeysOf(plan: QueryPlan): (string | null)[] {
  const first = plan.subject.colors?.[0];
  if (!first) return [null];
  return [...new Set(first.colors)].map((c) => `${first.part}:${c}`);
}

/** Bits of the colours a part of the track shows (any share). */
function colorMask(track: MatchTrack, part: ColorPart): number {
  const shares = track.attributes?.[part]?.colors;
  if (!shares) return 0;
  let m = 0;
  for (const s of shares) m |= COLOR_BIT.get(s.color) ?? 0;
  return m;
}

/** Per colour constraint of the plan, the bits of its alternatives; null without colour constraints. */
function colorMasksOf(plan: QueryPlan): { part: ColorPart; mask: number }[] | null {
  const cs = plan.subject.colors;
  if (!cs?.length) return null;
  return cs.map((c) => ({ part: c.part, mask: c.colors.reduce((m, col) => m | (COLOR_BIT.get(col) ?? 0), 0) }));
}

/** A query without a similarity term always passes; one with it, only where the frame's judgement holds. */
function similarityHolds(q: ArmedQuery, frame: MatchFrame): boolean {
  return !q.plan.similarity || frame.similarity?.get(q.id)?.holds === true;
}

/** ms in `zone`, or since the track was first seen when the query names no zone. */
function dwellMs(track: MatchTrack, zone: string | undefined, at: number): number {
  return zone === undefined ? at - track.firstSeen : (track.dwell[zone] ?? 0);
}

/**
 * -1 when a colour constraint fails, else the weakest constraint's best share. A colour is present
 * when the part lists it in `colors` (not only as dominant): a red jacket half-covered by a backpack
 * still counts. Colours of one constraint are alternatives; all constraints must hold.
 */
export function colorScore(plan: QueryPlan, track: MatchTrack): number {
  let score = 1;
  for (const c of plan.subject.colors ?? []) {
    const shares = track.attributes?.[c.part]?.colors;
    if (!shares) return -1;
    let best = -1;
    for (const s of shares) if (s.fraction > best && c.colors.includes(s.color)) best = s.fraction;
    if (best < 0) return -1;
    if (best < score) score = best;
  }
  return score;
}

/** Whether the track carries one of `classes` (in one of `colors`, when given) on this frame. */
export function carries(track: MatchTrack, classes: readonly CocoClass[], colors: readonly string[] | undefined): boolean {
  if (track.carried) {
    for (const item of track.carried) {
      if (!classes.includes(item.label)) continue;
      if (!colors || item.colors.some((c) => colors.includes(c))) return true;
    }
    return false;
  }
  // Bare classes have no colour: a coloured constraint cannot be confirmed from them.
  if (colors || !track.carrying) return false;
  for (const cls of track.carrying) if (classes.includes(cls)) return true;
  return false;
}

function carriedClasses(track: MatchTrack): CocoClass[] {
  if (track.carried) return [...new Set(track.carried.map((c) => c.label))];
  return track.carrying ? [...track.carrying] : [];
}

function reasonOf(plan: QueryPlan, kind: 'track' | 'count', evidence: readonly MatchedTrackEvidence[], count: number | undefined, hits: number, m: number): string {
  const s = plan.subject;
  const parts: string[] = [];
  if (kind === 'count' && plan.count) parts.push(`${count ?? 0} ${s.classes.join('/')} (${plan.count.op} ${plan.count.n})`);
  else parts.push(evidence[0]?.label ?? s.classes.join('/'));
  for (const c of s.colors ?? []) parts.push(`wearing ${c.colors.join('/')}${c.part === 'any' ? '' : ` (${c.part})`}`);
  for (const c of s.carrying ?? []) parts.push(`${c.negated ? 'not carrying' : 'carrying'} ${c.colors ? `${c.colors.join('/')} ` : ''}${c.classes.join('/')}`);
  if (plan.zones) parts.push(`in zone ${plan.zones.map((z) => `"${z}"`).join(' or ')}`);
  if (plan.dwell && kind === 'track' && evidence[0]) parts.push(`for ${evidence[0].dwellSeconds} s (≥ ${plan.dwell.minSeconds} s)`);
  else if (plan.dwell) parts.push(`each for ≥ ${plan.dwell.minSeconds} s`);
  if (plan.time) {
    const t = plan.time;
    const window = [t.after ? `from ${t.after}` : '', t.before ? `until ${t.before}` : '', t.days ? `on days ${t.days.join(',')}` : ''].filter(Boolean);
    parts.push(window.join(' '));
  }
  return `${parts.join(' ')}: ${hits} of the last ${m} frames`;
}
