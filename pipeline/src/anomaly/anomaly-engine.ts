import type { AnomalyEvidence, AnomalyRule, AnomalyType, LineConfig, QueryPlan, SceneTrack } from '@chronotrace/contracts';
import { InvalidArmedQueryError } from '../matching/errors';
import { inTimeWindow, type CompiledTimeWindow, type LocalClock, type LocalTime } from '../matching/time-window';
import { carries, colorScore, type ArmedQueryInput, type MatchedTrackEvidence } from '../matching/track-matcher';

/** What the engine knows of a camera's site: its lines, its schedules and its local clock. */
export interface AnomalySite {
  lines: readonly LineConfig[];
  /** Opening hours: a zone's schedule, else the camera's (zone null: the camera's); `name` picks a named one. Null: none. */
  schedule(zone: string | null, name?: string): CompiledTimeWindow | null;
  clock: LocalClock;
}

/** One frame of one camera, with its size (lines and distances are in frame coordinates). */
export interface AnomalyFrame {
  camera: string;
  at: number;
  width: number;
  height: number;
  tracks: readonly SceneTrack[];
}

export interface AnomalyEvent {
  queryId: string;
  planVersion: number;
  plan: QueryPlan;
  kind: AnomalyType;
  camera: string;
  at: number;
  tracks: MatchedTrackEvidence[];
  count?: number;
  anomaly: AnomalyEvidence;
  reason: string;
}

export interface AnomalyEngineStats {
  rules: number;
  frames: number;
  events: number;
  /** Rule × track checks on the last frame. */
  lastFrameChecks: number;
}

/** Line crossings per camera, line and direction since start (for activity counts). */
export type LineCounts = Record<string, Record<string, { in: number; out: number }>>;

interface Rule {
  id: string;
  version: number;
  plan: QueryPlan;
  rule: AnomalyRule;
  classes: ReadonlySet<string>;
  cameras: readonly string[] | undefined;
  zones: readonly string[] | undefined;
  /** Per camera, per track id: this rule's state of the track. */
  tracks: Map<string, Map<string, TrackState>>;
  /** Per-camera state of this rule (crowd, line counts, occupancy). */
  cams: Map<string, ScopeState>;
  /** Loitering: the zone visit (zone → entry time) each track fired for; after-hours, unusual: tracks that fired (zone '*'). */
  fired: Map<string, Map<string, number>>;
  /** Whether the subject names colours or carried objects (else every track of its classes is described). */
  described: boolean;
  /** Rules with the same subject and zones share a scope: its tracks, counts and movement baselines are computed once per frame. */
  scope: number;
  /** After hours: the rule's zones (null: the camera) whose schedule is closed, as of frame `closedFrame`. */
  closedZones: (string | null)[];
  closedFrame: number;
}

/** One track's judgement against its scope's movement baseline on this frame (made once, shared by the scope's rules). */
interface Judged {
  st: MovementStats;
  zone: string;
  how: number;
  speed: number;
  dir: number;
  z: number;
  share: number;
}

interface TrackState {
  seen: number;
  fired: boolean;
  /** Loitering: when the track entered each zone of the rule (or '*': view). Fired zones are remembered until it leaves them. */
  entered?: Map<string, { at: number; fired: boolean }>;
  /** Abandonment: where the bag has stood still since, and when a person was last near it. */
  anchor?: { x: number; y: number; at: number };
  attendedAt?: number;
}

interface ScopeState {
  /** Crowd: the learned baseline, when observing began, whether an episode is on. */
  baseline: number;
  since: number;
  lastAt: number;
  active: boolean;
  /** Line with count: crossing times in the window. */
  crossings: number[];
  /** Unusual occupancy: the baseline per hour of the week, and whether an episode is on. */
  occupancy: Map<number, MovementStats>;
}

/** Per camera: foot points of the previous frame, owners of bags, and per-scope baselines of movement. */
interface CameraMemory {
  frame: number;
  feet: Map<string, { x: number; y: number }>;
  /** Bag track → the person track that last carried it. */
  owner: Map<string, string>;
  lineCounts: Map<string, { in: number; out: number }>;
  /** Unusual movement: by `${ruleId}|${zone}|${hourOfWeek}`. */
  stats: Map<string, MovementStats>;
  /** Rules holding track states on this camera (only they are swept when tracks leave). */
  touched: Set<Rule>;
  /** When each track entered each zone it is in (the same for every rule). */
  entries: Map<string, Map<string, number>>;
  /** Results computed once per frame (schedules closed, by key). */
  closed: Map<string, boolean>;
  /** Per scope, this frame: its tracks, and each track's movement judgement. */
  scopeTracks: Map<number, SceneTrack[]>;
  judged: Map<number, Map<string, Judged>>;
  /** Per scope: (time, count) over the last minute, and the frame it was last extended on. */
  counts: Map<number, { history: { at: number; count: number }[]; frame: number; min: number }>;
}

interface MovementStats {
  speed: Welford;
  occupancy: Welford;
  /** Direction counts in 8 bins of 45°. */
  directions: Float64Array;
  directionTotal: number;
  occupancyActive: boolean;
}

interface Welford {
  n: number;
  mean: number;
  m2: number;
}

const BAGS = new Set(['backpack', 'handbag', 'suitcase']);
const ANYWHERE: readonly string[] = ['*'];
const NO_ZONE: readonly (string | null)[] = [null];
const FIRED = new Map<string, number>();
/** A bag that moved more than this many frame heights since its anchor is not standing still. */
const STILL = 0.03;
/** The baseline of a crowd scope learns with this time constant (s), and needs this much history before it judges (s). */
const BASELINE_TAU_S = 900;
const CROWD_WARMUP_S = 60;
/** Movement slower than this many frame heights per second has no direction. */
const MIN_DIRECTION_SPEED = 0.02;
/** A direction bin seen in fewer than this share of observations is unusual. */
const RARE_DIRECTION = 0.01;

function welfordAdd(w: Welford, x: number): void {
  w.n++;
  const d = x - w.mean;
  w.mean += d / w.n;
  w.m2 += d * (x - w.mean);
}

function welfordZ(w: Welford, x: number): number {
  if (w.n < 2) return 0;
  const sd = Math.sqrt(w.m2 / (w.n - 1));
  return sd > 1e-9 ? (x - w.mean) / sd : 0;
}

export function foot(t: SceneTrack): { x: number; y: number } {
  return { x: t.box.x + t.box.w / 2, y: t.box.y + t.box.h };
}

/** Sign of the side of `p` relative to the directed line a→b in image coordinates: < 0 left (looking from a to b), > 0 right. */
function side(ax: number, ay: number, bx: number, by: number, px: number, py: number): number {
  return (bx - ax) * (py - ay) - (by - ay) * (px - ax);
}

/**
 * Whether segment p→q crosses segment a→b, and which way ('in': from the left of a→b to its right). A
 * point on the line counts as on its left, so a foot landing exactly on it is counted once, when it
 * reaches the right (or leaves the left for good).
 */
export function crossing(ax: number, ay: number, bx: number, by: number, p: { x: number; y: number }, q: { x: number; y: number }): 'in' | 'out' | null {
  const s1 = side(ax, ay, bx, by, p.x, p.y) > 0;
  const s2 = side(ax, ay, bx, by, q.x, q.y) > 0;
  if (s1 === s2) return null;
  // The line a→b must also be cut by p→q within its ends.
  const t1 = side(p.x, p.y, q.x, q.y, ax, ay);
  const t2 = side(p.x, p.y, q.x, q.y, bx, by);
  if (t1 !== 0 && t2 !== 0 && t1 > 0 === t2 > 0) return null;
  return s1 ? 'out' : 'in';
}

function evidenceOf(t: SceneTrack, zones: readonly string[] | undefined, dwellSeconds: number): MatchedTrackEvidence {
  return {
    trackId: t.id,
    label: t.label,
    box: { ...t.box },
    score: t.score,
    colorScore: 1,
    zones: zones ? t.zones.filter((z) => zones.includes(z)) : [],
    dwellSeconds: Math.round(dwellSeconds * 10) / 10,
    carrying: t.carried ? [...new Set(t.carried.map((c) => c.label))] : t.carrying ? [...t.carrying] : [],
  };
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

/**
 * The anomaly rules of the standing-query engine (a pure core: time only from the frames). Each armed
 * query whose plan has `anomaly` is one rule, scoped by its subject classes, cameras and zones:
 *
 * - loitering: a track in a zone of the rule (or in view) for minSeconds since it entered; once per visit.
 * - crowd: the scope's count rose ≥ R within a minute and stands ≥ R above its learned baseline (after a
 *   minute of history); once per episode, which clears at baseline + clearFraction × R.
 * - abandoned: a bag standing still ≥ minSeconds with no person within `distance` frame heights; its
 *   evidence names (and shows, while in view) the person it was last carried by.
 * - after-hours: a track in scope while its zone's (else the camera's) schedule is closed; once per track.
 * - unusual: per scope and hour of the week, online baselines of speed, direction and occupancy; a
 *   track's speed |z| ≥ z, a direction seen in < 1 % of the baseline, or the occupancy z ≥ z (an
 *   episode), once the baseline holds minHistory observations.
 * - line: each crossing of a camera line (in a direction), or crossings within a window meeting a count.
 *
 * Rules are indexed by camera and class, so a frame touches only rules that can concern its tracks.
 */
export class AnomalyEngine {
  readonly #rules = new Map<string, Rule>();
  /** camera (or '*') → class → rules. */
  readonly #index = new Map<string, Map<string, Rule[]>>();
  /** Rules that watch every frame of their cameras (crowd, occupancy, line counts: zero tracks matter). */
  readonly #scoped = new Map<string, Rule[]>();
  readonly #cameras = new Map<string, CameraMemory>();
  readonly #scopes = new Map<string, number>();
  #frames = 0;
  #events = 0;
  #lastChecks = 0;
  /** The current frame's local time, computed once when a rule needs it. */
  #local: LocalTime | undefined;
  #site: AnomalySite = { lines: [], schedule: () => null, clock: () => ({ day: 0, minutes: 0 }) };
  #at = 0;

  constructor(private readonly siteOf: (camera: string) => AnomalySite) {}

  /** Arms a rule (its state starts afresh on a new version); a plan without `anomaly` is refused. */
  arm(q: ArmedQueryInput): 'armed' | 'replaced' | 'unchanged' {
    const rule = q.plan.anomaly;
    if (!rule) throw new InvalidArmedQueryError(`query ${q.id} has no anomaly rule`);
    const existing = this.#rules.get(q.id);
    if (existing && existing.version === q.version) return 'unchanged';
    if (existing) this.disarm(q.id);
    const r: Rule = {
      id: q.id,
      version: q.version,
      plan: q.plan,
      rule,
      classes: new Set(q.plan.subject.classes),
      cameras: q.plan.cameras,
      zones: q.plan.zones,
      tracks: new Map(),
      cams: new Map(),
      fired: new Map(),
      described: (q.plan.subject.colors?.length ?? 0) > 0 || (q.plan.subject.carrying?.length ?? 0) > 0,
      scope: this.#scopeId(q.plan),
      closedZones: [],
      closedFrame: -1,
    };
    this.#rules.set(r.id, r);
    for (const camera of r.cameras ?? ['*']) {
      let byClass = this.#index.get(camera);
      if (!byClass) this.#index.set(camera, (byClass = new Map()));
      for (const cls of r.classes) {
        const list = byClass.get(cls);
        if (list) list.push(r);
        else byClass.set(cls, [r]);
      }
      if (rule.type === 'crowd' || rule.type === 'unusual' || (rule.type === 'line' && rule.count)) {
        const list = this.#scoped.get(camera);
        if (list) list.push(r);
        else this.#scoped.set(camera, [r]);
      }
    }
    return existing ? 'replaced' : 'armed';
  }

  #scopeId(plan: QueryPlan): number {
    const key = JSON.stringify([[...plan.subject.classes].sort(), plan.zones ?? null, plan.subject.colors ?? null, plan.subject.carrying ?? null]);
    let id = this.#scopes.get(key);
    if (id === undefined) this.#scopes.set(key, (id = this.#scopes.size));
    return id;
  }

  disarm(id: string): boolean {
    const r = this.#rules.get(id);
    if (!r) return false;
    this.#rules.delete(id);
    for (const mem of this.#cameras.values()) mem.touched.delete(r);
    for (const camera of r.cameras ?? ['*']) {
      const byClass = this.#index.get(camera);
      for (const cls of r.classes) {
        const list = byClass?.get(cls);
        const i = list?.indexOf(r) ?? -1;
        if (list && i >= 0) list.splice(i, 1);
        if (list?.length === 0) byClass?.delete(cls);
      }
      if (byClass?.size === 0) this.#index.delete(camera);
      const scoped = this.#scoped.get(camera);
      const j = scoped?.indexOf(r) ?? -1;
      if (scoped && j >= 0) scoped.splice(j, 1);
      if (scoped?.length === 0) this.#scoped.delete(camera);
    }
    return true;
  }

  armed(): { id: string; version: number }[] {
    return [...this.#rules.values()].map((r) => ({ id: r.id, version: r.version }));
  }

  get size(): number {
    return this.#rules.size;
  }

  evaluate(frame: AnomalyFrame): AnomalyEvent[] {
    this.#frames++;
    const events: AnomalyEvent[] = [];
    let mem = this.#cameras.get(frame.camera);
    if (!mem) this.#cameras.set(frame.camera, (mem = { frame: 0, feet: new Map(), owner: new Map(), lineCounts: new Map(), stats: new Map(), touched: new Set(), entries: new Map(), closed: new Map(), scopeTracks: new Map(), judged: new Map(), counts: new Map() }));
    mem.frame++;
    const site = this.siteOf(frame.camera);
    this.#site = site;
    this.#at = frame.at;
    this.#local = undefined;
    const confirmed = frame.tracks.filter((t) => t.state === 'confirmed');
    // Owners: a person carrying a bag on this frame is its owner until another carries it.
    for (const t of confirmed) for (const c of t.carried ?? []) mem.owner.set(c.trackId, t.id);
    const feetNow = new Map(confirmed.map((t) => [t.id, foot(t)]));
    mem.closed.clear();
    mem.scopeTracks.clear();
    mem.judged.clear();
    // Zone entries: a track entering a zone now; leaving one forgets it (a new visit starts afresh).
    for (const t of confirmed) {
      let e = mem.entries.get(t.id);
      if (!e) mem.entries.set(t.id, (e = new Map()));
      for (const z of e.keys()) if (!t.zones.includes(z)) e.delete(z);
      for (const z of t.zones) if (!e.has(z)) e.set(z, frame.at);
    }
    for (const id of mem.entries.keys()) if (!feetNow.has(id)) mem.entries.delete(id);
    const crossed = this.#crossings(frame, site, mem, confirmed, feetNow);
    let checks = 0;
    const own = this.#index.get(frame.camera);
    const any = this.#index.get('*');
    for (const t of confirmed) {
      for (const rules of [own?.get(t.label), any?.get(t.label)]) {
        if (!rules) continue;
        for (const r of rules) {
          checks++;
          this.#track(r, t, frame, site, mem, confirmed, crossed, events);
        }
      }
    }
    for (const rules of [this.#scoped.get(frame.camera), this.#scoped.get('*')]) {
      if (!rules) continue;
      for (const r of rules) {
        checks++;
        this.#scope(r, frame, site, mem, confirmed, crossed, events);
      }
    }
    // Each judged observation joins its scope's baseline once, after every rule of the scope judged it.
    for (const byTrack of mem.judged.values()) {
      for (const j of byTrack.values()) {
        welfordAdd(j.st.speed, j.speed);
        if (j.dir >= 0) {
          j.st.directions[j.dir]!++;
          j.st.directionTotal++;
        }
      }
    }
    // Tracks gone from the frame: their state goes (a returning id starts afresh). Nothing to sweep when none left.
    const gone: string[] = [];
    for (const id of mem.feet.keys()) if (!feetNow.has(id)) gone.push(id);
    if (gone.length > 0) {
      for (const r of mem.touched) {
        const states = r.tracks.get(frame.camera);
        for (const id of gone) {
          states?.delete(id);
          r.fired.delete(id);
        }
        if ((!states || states.size === 0) && r.fired.size === 0) {
          r.tracks.delete(frame.camera);
          mem.touched.delete(r);
        }
      }
    }
    mem.feet = feetNow;
    for (const id of mem.owner.keys()) if (!feetNow.has(id) && !frame.tracks.some((t) => t.id === id)) mem.owner.delete(id);
    this.#lastChecks = checks;
    this.#events += events.length;
    return events;
  }

  /** Crossings of this camera's lines by each track since the previous frame (counted per line and direction). */
  #crossings(frame: AnomalyFrame, site: AnomalySite, mem: CameraMemory, tracks: readonly SceneTrack[], feetNow: Map<string, { x: number; y: number }>): Map<string, { line: string; direction: 'in' | 'out' }[]> {
    const out = new Map<string, { line: string; direction: 'in' | 'out' }[]>();
    if (site.lines.length === 0) return out;
    for (const t of tracks) {
      const prev = mem.feet.get(t.id);
      const now = feetNow.get(t.id);
      if (!prev || !now) continue;
      for (const l of site.lines) {
        const d = crossing(l.from[0] * frame.width, l.from[1] * frame.height, l.to[0] * frame.width, l.to[1] * frame.height, prev, now);
        if (!d) continue;
        const list = out.get(t.id) ?? [];
        list.push({ line: l.name, direction: d });
        out.set(t.id, list);
        const key = `${l.name}`;
        const c = mem.lineCounts.get(key) ?? { in: 0, out: 0 };
        c[d]++;
        mem.lineCounts.set(key, c);
      }
    }
    return out;
  }

  #state(r: Rule, t: SceneTrack, mem: CameraMemory): TrackState {
    let states = r.tracks.get(t.camera);
    if (!states) r.tracks.set(t.camera, (states = new Map()));
    let s = states.get(t.id);
    if (!s) states.set(t.id, (s = { seen: mem.frame, fired: false }));
    s.seen = mem.frame;
    mem.touched.add(r);
    return s;
  }

  /** In the rule's zones (any, when it names none) and as its subject describes (colours, carried objects). */
  #inScope(r: Rule, t: SceneTrack): boolean {
    if (r.zones && !t.zones.some((z) => r.zones!.includes(z))) return false;
    return this.#described(r, t);
  }

  #described(r: Rule, t: SceneTrack): boolean {
    if (!r.described) return true;
    const s = r.plan.subject;
    if (s.colors?.length && colorScore(r.plan, t) < 0) return false;
    for (const c of s.carrying ?? []) if (carries(t, c.classes, c.colors) === (c.negated === true)) return false;
    return true;
  }

  #track(r: Rule, t: SceneTrack, frame: AnomalyFrame, site: AnomalySite, mem: CameraMemory, tracks: readonly SceneTrack[], crossed: Map<string, { line: string; direction: 'in' | 'out' }[]>, events: AnomalyEvent[]): void {
    const rule = r.rule;
    switch (rule.type) {
      case 'loitering': {
        if (!this.#described(r, t)) return;
        const entries = mem.entries.get(t.id);
        for (const z of r.zones ?? ANYWHERE) {
          if (z !== '*' && !t.zones.includes(z)) continue;
          const entry = z === '*' ? t.firstSeen : entries?.get(z);
          if (entry === undefined) continue;
          const dwell = (frame.at - entry) / 1000;
          if (dwell < rule.minSeconds) continue;
          let visits = r.fired.get(t.id);
          if (visits?.get(z) === entry) continue;
          if (!visits) r.fired.set(t.id, (visits = new Map()));
          visits.set(z, entry);
          mem.touched.add(r);
          const where = z === '*' ? 'in view' : `in zone "${z}"`;
          events.push(this.#event(r, frame, [evidenceOf(t, r.zones, dwell)], { type: 'loitering', confidence: round2(Math.min(1, t.score)), measured: { dwellSeconds: round2(dwell), thresholdSeconds: rule.minSeconds, ...(z === '*' ? {} : { zone: z }) } }, `${t.label} loitering ${where} for ${Math.round(dwell)} s (≥ ${rule.minSeconds} s since entering)`));
        }
        return;
      }
      case 'abandoned': {
        if (!BAGS.has(t.label) || !this.#inScope(r, t)) return;
        const s = this.#state(r, t, mem);
        const f = foot(t);
        const h = frame.height;
        if (!s.anchor || Math.hypot(f.x - s.anchor.x, f.y - s.anchor.y) > STILL * h) {
          s.anchor = { x: f.x, y: f.y, at: frame.at };
          s.fired = false;
        }
        const near = tracks.some((p) => p.label === 'person' && Math.hypot(foot(p).x - f.x, foot(p).y - f.y) <= rule.distance * h);
        if (near) {
          s.attendedAt = frame.at;
          s.fired = false;
        }
        const alone = (frame.at - Math.max(s.anchor.at, s.attendedAt ?? Number.NEGATIVE_INFINITY)) / 1000;
        if (s.fired || alone < rule.minSeconds) return;
        s.fired = true;
        const ownerId = mem.owner.get(t.id);
        const owner = ownerId ? tracks.find((p) => p.id === ownerId) : undefined;
        const evidence = [evidenceOf(t, r.zones, alone), ...(owner ? [evidenceOf(owner, r.zones, 0)] : [])];
        events.push(
          this.#event(
            r,
            frame,
            evidence,
            { type: 'abandoned', confidence: round2(Math.min(1, t.score)), measured: { unattendedSeconds: round2(alone), thresholdSeconds: rule.minSeconds, distance: rule.distance }, ...(ownerId ? { ownerTrackId: ownerId } : {}) },
            `${t.label} left unattended for ${Math.round(alone)} s (≥ ${rule.minSeconds} s, no person within ${rule.distance} frame heights)${ownerId ? `; last carried by ${ownerId}${owner ? '' : ' (out of view)'}` : ''}`,
          ),
        );
        return;
      }
      case 'after-hours': {
        if (r.fired.has(t.id)) return;
        // The rule's closed zones are the same for every track of the frame: found once.
        if (r.closedFrame !== this.#frames) {
          r.closedFrame = this.#frames;
          r.closedZones = (r.zones ?? NO_ZONE).filter((z) => this.#closed(mem, site, z, rule.schedule));
        }
        if (r.closedZones.length === 0 || !this.#inScope(r, t)) return;
        const closed = r.zones ? r.closedZones.find((z) => z !== null && t.zones.includes(z)) : null;
        if (closed === undefined) return;
        r.fired.set(t.id, FIRED);
        mem.touched.add(r);
        const local = this.#localTime();
        const hhmm = `${String(Math.floor(local.minutes / 60)).padStart(2, '0')}:${String(local.minutes % 60).padStart(2, '0')}`;
        events.push(
          this.#event(r, frame, [evidenceOf(t, r.zones, (frame.at - t.firstSeen) / 1000)], { type: 'after-hours', confidence: round2(Math.min(1, t.score)), measured: { localTime: hhmm, ...(rule.schedule ? { schedule: rule.schedule } : {}), ...(closed ? { zone: closed } : {}) } }, `${t.label} ${closed ? `in zone "${closed}"` : 'in view'} at ${hhmm}, outside ${rule.schedule ? `schedule "${rule.schedule}"` : 'its opening hours'}`),
        );
        return;
      }
      case 'unusual': {
        if (r.fired.has(t.id)) return;
        const j = this.#judge(r, t, frame, mem);
        if (!j || j.st.speed.n < rule.minHistory) return;
        let broke: { feature: string; value: number; baseline: number; by: string } | null = null;
        if (Math.abs(j.z) >= rule.z) broke = { feature: 'speed', value: round2(j.speed), baseline: round2(j.st.speed.mean), by: `z = ${round2(j.z)}` };
        else if (j.dir >= 0 && j.st.directionTotal >= rule.minHistory && j.share < RARE_DIRECTION) broke = { feature: 'direction', value: j.dir * 45 - 180, baseline: round2(j.share), by: `${round2(j.share * 100)} % of the baseline goes this way` };
        if (!broke) return;
        r.fired.set(t.id, FIRED);
        mem.touched.add(r);
        events.push(
          this.#event(r, frame, [evidenceOf(t, r.zones, (frame.at - t.firstSeen) / 1000)], { type: 'unusual', confidence: round2(Math.min(1, Math.abs(j.z) / (2 * rule.z))), measured: { feature: broke.feature, value: broke.value, baseline: broke.baseline, hourOfWeek: j.how } }, `${t.label} moving unusually${j.zone === '*' ? '' : ` in zone "${j.zone}"`}: ${broke.feature} ${broke.by} (${j.st.speed.n} observations this hour of the week)`),
        );
        return;
      }
      case 'line': {
        if (rule.count || !this.#inScope(r, t)) return; // counted per scope
        const list = crossed.get(t.id);
        if (!list) return;
        for (const c of list) {
          if (c.line !== rule.line || (rule.direction && c.direction !== rule.direction)) continue;
          events.push(this.#event(r, frame, [evidenceOf(t, r.zones, (frame.at - t.firstSeen) / 1000)], { type: 'line', confidence: round2(Math.min(1, t.score)), measured: { crossings: 1 }, line: c.line, direction: c.direction }, `${t.label} crossed line "${c.line}" ${c.direction === 'in' ? 'inbound' : 'outbound'}`));
        }
        return;
      }
      case 'crowd':
        return;
    }
  }

  /** Whether the schedule of `zone` (null: the camera's; `name`: that one) is closed now; once per frame and key. */
  #closed(mem: CameraMemory, site: AnomalySite, zone: string | null, name: string | undefined): boolean {
    const key = `${zone ?? ''}|${name ?? ''}`;
    let c = mem.closed.get(key);
    if (c === undefined) {
      const w = site.schedule(zone, name);
      c = w !== null && !inTimeWindow(w, this.#localTime());
      mem.closed.set(key, c);
    }
    return c;
  }

  #localTime(): LocalTime {
    this.#local ??= this.#site.clock(this.#at);
    return this.#local;
  }

  /** The track against its scope's baseline for its zone and hour of the week; once per scope, track and frame. Null: not in scope. */
  #judge(r: Rule, t: SceneTrack, frame: AnomalyFrame, mem: CameraMemory): Judged | null {
    let byTrack = mem.judged.get(r.scope);
    if (!byTrack) mem.judged.set(r.scope, (byTrack = new Map()));
    const known = byTrack.get(t.id);
    if (known) return known;
    if (!this.#inScope(r, t)) return null;
    const local = this.#localTime();
    const how = local.day * 24 + Math.floor(local.minutes / 60);
    const zone = r.zones ? (t.zones.find((z) => r.zones!.includes(z)) ?? '*') : '*';
    const st = this.#stats(mem, `${r.scope}|${zone}|${how}`);
    const speed = t.speed / frame.height;
    const dir = speed >= MIN_DIRECTION_SPEED ? Math.floor(((Math.atan2(t.velocity.y, t.velocity.x) + Math.PI) / (2 * Math.PI)) * 8) % 8 : -1;
    const j: Judged = { st, zone, how, speed, dir, z: welfordZ(st.speed, speed), share: dir >= 0 && st.directionTotal > 0 ? st.directions[dir]! / st.directionTotal : 1 };
    byTrack.set(t.id, j);
    return j;
  }

  /** The scope's tracks on this frame (computed once per scope). */
  #scopeTracksOf(r: Rule, mem: CameraMemory, tracks: readonly SceneTrack[]): SceneTrack[] {
    let list = mem.scopeTracks.get(r.scope);
    if (!list) mem.scopeTracks.set(r.scope, (list = tracks.filter((t) => r.classes.has(t.label) && this.#inScope(r, t))));
    return list;
  }

  #stats(mem: CameraMemory, key: string): MovementStats {
    let st = mem.stats.get(key);
    if (!st) mem.stats.set(key, (st = { speed: { n: 0, mean: 0, m2: 0 }, occupancy: { n: 0, mean: 0, m2: 0 }, directions: new Float64Array(8), directionTotal: 0, occupancyActive: false }));
    return st;
  }

  #scopeState(r: Rule, camera: string, at: number): ScopeState {
    let s = r.cams.get(camera);
    if (!s) r.cams.set(camera, (s = { baseline: Number.NaN, since: at, lastAt: at, active: false, crossings: [], occupancy: new Map() }));
    return s;
  }

  #scope(r: Rule, frame: AnomalyFrame, site: AnomalySite, mem: CameraMemory, tracks: readonly SceneTrack[], crossed: Map<string, { line: string; direction: 'in' | 'out' }[]>, events: AnomalyEvent[]): void {
    const rule = r.rule;
    const inScope = this.#scopeTracksOf(r, mem, tracks);
    const s = this.#scopeState(r, frame.camera, frame.at);
    if (rule.type === 'crowd') {
      const count = inScope.length;
      // The scope's counts of the last minute, extended once per frame, and their minimum.
      let c = mem.counts.get(r.scope);
      if (!c) mem.counts.set(r.scope, (c = { history: [], frame: -1, min: count }));
      if (c.frame !== mem.frame) {
        c.frame = mem.frame;
        c.history.push({ at: frame.at, count });
        while (c.history.length > 1 && c.history[0]!.at < frame.at - 60_000) c.history.shift();
        c.min = c.history.reduce((m, h) => Math.min(m, h.count), count);
      }
      if (Number.isNaN(s.baseline)) s.baseline = count;
      const rise = count - c.min;
      const above = count - s.baseline;
      if (s.active && count <= s.baseline + rule.clearFraction * rule.risePerMinute) s.active = false;
      const warm = (frame.at - s.since) / 1000 >= CROWD_WARMUP_S;
      if (!s.active && warm && rise >= rule.risePerMinute && above >= rule.risePerMinute) {
        s.active = true;
        events.push(
          this.#event(r, frame, inScope.map((t) => evidenceOf(t, r.zones, (frame.at - t.firstSeen) / 1000)), { type: 'crowd', confidence: round2(Math.min(1, above / (2 * rule.risePerMinute))), measured: { count, baseline: round2(s.baseline), risePerMinute: rise, threshold: rule.risePerMinute } }, `crowd forming${r.zones ? ` in zone ${r.zones.map((z) => `"${z}"`).join(' or ')}` : ''}: ${count} ${[...r.classes].join('/')} (baseline ${round2(s.baseline)}), up ${rise} within a minute (≥ ${rule.risePerMinute})`, count),
        );
      }
      // The baseline learns only outside an episode, so a crowd does not become normal while it lasts.
      if (!s.active) {
        const dt = Math.max(0, (frame.at - s.lastAt) / 1000);
        s.baseline += (1 - Math.exp(-dt / BASELINE_TAU_S)) * (count - s.baseline);
      }
      s.lastAt = frame.at;
      return;
    }
    if (rule.type === 'unusual') {
      const local = this.#localTime();
      const how = local.day * 24 + Math.floor(local.minutes / 60);
      let st = s.occupancy.get(how);
      if (!st) s.occupancy.set(how, (st = { speed: { n: 0, mean: 0, m2: 0 }, occupancy: { n: 0, mean: 0, m2: 0 }, directions: new Float64Array(8), directionTotal: 0, occupancyActive: false }));
      const count = inScope.length;
      if (st.occupancy.n >= rule.minHistory) {
        const z = welfordZ(st.occupancy, count);
        if (st.occupancyActive && z < rule.z / 2) st.occupancyActive = false;
        if (!st.occupancyActive && z >= rule.z) {
          st.occupancyActive = true;
          events.push(
            this.#event(r, frame, inScope.map((t) => evidenceOf(t, r.zones, (frame.at - t.firstSeen) / 1000)), { type: 'unusual', confidence: round2(Math.min(1, z / (2 * rule.z))), measured: { feature: 'occupancy', value: count, baseline: round2(st.occupancy.mean), hourOfWeek: how } }, `unusual occupancy: ${count} ${[...r.classes].join('/')} against ${round2(st.occupancy.mean)} usually at this hour of the week (z = ${round2(z)})`, count),
          );
        }
      }
      if (!st.occupancyActive) welfordAdd(st.occupancy, count);
      return;
    }
    if (rule.type === 'line' && rule.count) {
      for (const [id, list] of crossed) {
        const t = tracks.find((x) => x.id === id);
        if (!t || !r.classes.has(t.label) || !this.#inScope(r, t)) continue;
        for (const c of list) if (c.line === rule.line && (!rule.direction || c.direction === rule.direction)) s.crossings.push(frame.at);
      }
      const from = frame.at - rule.count.windowSeconds * 1000;
      while (s.crossings.length > 0 && s.crossings[0]! < from) s.crossings.shift();
      const n = s.crossings.length;
      const holds = rule.count.op === '>' ? n > rule.count.n : n >= rule.count.n;
      if (!holds) s.active = false;
      else if (!s.active) {
        s.active = true;
        const dir = rule.direction === 'in' ? ' inbound' : rule.direction === 'out' ? ' outbound' : '';
        events.push(this.#event(r, frame, [], { type: 'line', confidence: 1, measured: { crossings: n, windowSeconds: rule.count.windowSeconds, threshold: rule.count.n }, line: rule.line, ...(rule.direction ? { direction: rule.direction } : {}) }, `${n} ${[...r.classes].join('/')} crossed line "${rule.line}"${dir} in the last ${rule.count.windowSeconds} s (${rule.count.op} ${rule.count.n})`, n));
      }
    }
  }

  #event(r: Rule, frame: AnomalyFrame, tracks: MatchedTrackEvidence[], anomaly: AnomalyEvidence, reason: string, count?: number): AnomalyEvent {
    return { queryId: r.id, planVersion: r.version, plan: r.plan, kind: anomaly.type, camera: frame.camera, at: frame.at, tracks, anomaly, reason, ...(count !== undefined ? { count } : {}) };
  }

  /** Crossings per camera, line and direction since start. */
  lineCounts(): LineCounts {
    const out: LineCounts = {};
    for (const [camera, mem] of this.#cameras) {
      const lines: Record<string, { in: number; out: number }> = {};
      for (const [line, c] of mem.lineCounts) lines[line] = { ...c };
      out[camera] = lines;
    }
    return out;
  }

  toJSON(): AnomalyEngineStats {
    return { rules: this.#rules.size, frames: this.#frames, events: this.#events, lastFrameChecks: this.#lastChecks };
  }
}
