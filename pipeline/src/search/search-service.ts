import {
  formatIssues,
  isCocoClass,
  processTimeZone,
  searchQuerySchema,
  BASIC_COLORS,
  type BasicColor,
  type QueryError,
  type QueryPlan,
  type SearchHit,
  type SearchResponse,
} from '@chronotrace/contracts';
import { MAX_CANDIDATE_TRACKS, type Store, type SummaryHit, type TrackSearchFilter, type VectorIndex } from '@chronotrace/platform';
import type { Embedder } from '../embed/embedder';
import { compileTimeWindow } from '../matching/time-window';
import type { QueryCompiler } from '../query/query-compiler';
import { qualityParts } from '../scene/track-summarizer';
import { extractTimePhrases, formatLocal, type TimeRange } from './time-phrases';
import { startOfLocalDay, zonedParts, zonedTime } from './zoned-time';

export interface SearchCamera {
  id: string;
  name: string;
  timeZone?: string | undefined;
}

export interface SearchServiceOptions {
  store: Pick<Store, 'trackSummaries' | 'recordings'>;
  /** A compiler that knows today's cameras and zones (the standing queries' compiler). */
  compiler: () => Promise<QueryCompiler>;
  cameras: () => Promise<SearchCamera[]>;
  /** Default Date.now. */
  now?: () => number;
  /** How far back a clock window ("after 18:00") looks when the text gives no range. Default 31 days. */
  windowLookbackMs?: number;
  /**
   * An embedder is on: a query's similarity term ranks tracks by their best view's embedding in
   * `index` (null: this deployment keeps none it can share, and such searches are refused).
   */
  similarity?: { embedder: Embedder; index: VectorIndex | null };
}

export type SearchOutcome =
  | { ok: true; response: SearchResponse }
  | { ok: false; status: 400; rejection: QueryError }
  | { ok: false; status: 400; error: string; details?: string[] };

/** Play this long before the best view, but not before the track appeared (less a second). */
const PLAY_LEAD_MS = 3_000;
/** Most days a clock window is expanded over (one interval per day). */
const MAX_WINDOW_DAYS = 400;
/** A track's best view lies within its time in view: the vector side of a time filter is widened by this. */
const VIEW_PAD_MS = 2 * 3_600_000;
/** Share of the rank a similarity term takes (the rest is the structured match quality). */
const SIMILARITY_WEIGHT = 0.5;
/** Texts embedded for searches, kept. */
const TEXT_CACHE = 256;

interface Ranked {
  hit: SummaryHit;
  rank: number;
  similarity: number | null;
}

interface Cursor {
  r: number;
  l: number;
  t: string;
  /** The query the cursor belongs to, so a cursor from another search is refused rather than misapplied. */
  k: string;
}

/**
 * Search of recorded history: the standing-query compiler reads the text (time phrases taken out
 * first and resolved in the cameras' time zone), the plan becomes a filter over per-track summaries,
 * and hits come back ranked per track with a keyset cursor.
 */
export class SearchService {
  readonly #texts = new Map<string, Float32Array>();

  constructor(private readonly o: SearchServiceOptions) {}

  async search(input: unknown): Promise<SearchOutcome> {
    const started = performance.now();
    const parsed = searchQuerySchema.safeParse(input);
    if (!parsed.success) return { ok: false, status: 400, error: 'invalid search', details: formatIssues(parsed.error.issues) };
    const q = parsed.data;
    const now = (this.o.now ?? Date.now)();
    const cameras = await this.o.cameras();
    const byId = new Map(cameras.map((c) => [c.id, c]));
    if (q.camera !== undefined && !byId.has(q.camera)) return { ok: false, status: 400, error: 'invalid search', details: [`camera: no camera "${q.camera}"`] };
    if (q.class !== undefined && !isCocoClass(q.class)) return { ok: false, status: 400, error: 'invalid search', details: [`class: "${q.class}" is not a detector class`] };
    if (q.color !== undefined && !(BASIC_COLORS as readonly string[]).includes(q.color)) {
      return { ok: false, status: 400, error: 'invalid search', details: [`color: "${q.color}" is not one of ${BASIC_COLORS.join(', ')}`] };
    }
    const bounds = parseBound(q.from, 'from');
    const upper = parseBound(q.to, 'to');
    const badBound = [bounds, upper].filter((b) => !b.ok).map((b) => (b.ok ? '' : b.detail));
    if (badBound.length) return { ok: false, status: 400, error: 'invalid search', details: badBound };

    const scope = q.camera !== undefined ? [byId.get(q.camera)!] : cameras;
    const zonesOfScope = new Set(scope.map((c) => c.timeZone ?? processTimeZone()));
    const timeZone = zonesOfScope.size === 1 ? [...zonesOfScope][0]! : processTimeZone();

    const time = extractTimePhrases(q.q, now, timeZone);
    const compiler = await this.o.compiler();
    const compiled = compiler.compile(time.text);
    if (!compiled.ok) return { ok: false, status: 400, rejection: compiled.error };
    const plan = compiled.plan;
    // Search finds tracks: anomalies and counts are for standing queries and their backtests.
    const unanswerable = plan.anomaly
      ? `search finds tracks, not anomalies: arm "${q.q}" as a standing query and backtest it over stored history to see when it would have fired`
      : plan.count
        ? 'search finds tracks, not counts: arm this as a standing query and backtest it over stored history to see when the count held'
        : null;
    if (unanswerable) return { ok: false, status: 400, rejection: { code: 'unsupported', error: unanswerable, unknownTerms: [], suggestions: {} } };

    let range: TimeRange | null = time.range;
    const cut = (r: TimeRange | null, from: number | null, to: number | null): TimeRange | null => {
      if (from === null && to === null) return r;
      const f = Math.max(r?.from ?? -Infinity, from ?? -Infinity);
      const t = Math.min(r?.to ?? Infinity, to ?? Infinity);
      return { from: Number.isFinite(f) ? f : 0, to: Number.isFinite(t) ? t : now + 1 };
    };
    range = cut(range, bounds.ok ? bounds.value : null, upper.ok ? upper.value : null);

    let intervals: TimeRange[] | undefined = range ? [range] : undefined;
    if (plan.time) {
      const base = range ?? { from: now - (this.o.windowLookbackMs ?? 31 * 86_400_000), to: now + 1 };
      intervals = windowIntervals(base, plan.time, timeZone);
    }

    const filter = toFilter(plan, q, intervals);
    if (!filter.ok) return { ok: false, status: 400, error: 'invalid search', details: [filter.error] };

    const key = cursorKey(q);
    let after: TrackSearchFilter['after'];
    if (q.cursor !== undefined) {
      const c = decodeCursor(q.cursor);
      if (!c || c.k !== key) return { ok: false, status: 400, error: 'invalid search', details: ['cursor: not a cursor of this search (start again without it)'] };
      after = { rank: c.r, lastSeen: c.l, trackId: c.t };
    }
    let ranked: Ranked[];
    if (plan.similarity) {
      const sim = this.o.similarity;
      if (!sim?.index) {
        return {
          ok: false,
          status: 400,
          error: 'invalid search',
          details: [
            `q: ${plan.similarity.terms.map((t) => `"${t}"`).join(', ')} can only be searched by image similarity, and this deployment keeps no vector index it can search (distributed mode needs VECTOR_INDEX=qdrant and QDRANT_URL)`,
          ],
        };
      }
      ranked = await this.#similar(sim.embedder, sim.index, plan.similarity.text, filter.value, q.limit + 1, after);
    } else {
      const rows = await this.o.store.trackSummaries.search({ ...filter.value, limit: q.limit + 1, ...(after ? { after } : {}) });
      ranked = rows.map((hit) => ({ hit, rank: hit.rank, similarity: null }));
    }
    const page = ranked.slice(0, q.limit);
    const last = page[page.length - 1];
    const nextCursor = ranked.length > q.limit && last ? encodeCursor({ r: last.rank, l: last.hit.summary.lastSeen, t: last.hit.summary.trackId, k: key }) : null;

    const withThumbs = await this.o.store.trackSummaries.withThumbnails(page.map((r) => r.hit.summary.trackId));
    const hits: SearchHit[] = await Promise.all(
      page.map(async ({ hit: h, rank, similarity }) => {
        const s = h.summary;
        const playAt = Math.max(s.firstSeen - 1000, s.bestAt - PLAY_LEAD_MS);
        const recorded = (await this.o.store.recordings.list(s.camera, { from: playAt, to: playAt + 1, limit: 1 })).length > 0;
        const parts = qualityParts(s);
        const id = encodeURIComponent(s.trackId);
        return {
          trackId: s.trackId,
          camera: s.camera,
          cameraName: byId.get(s.camera)?.name ?? s.camera,
          label: s.label,
          start: s.firstSeen,
          end: s.lastSeen,
          playAt,
          bestAt: s.bestAt,
          score: round3(rank),
          scores: { detection: round3(parts.detection), color: h.colorScore === null ? null : round3(h.colorScore), time: round3(parts.time), similarity: similarity === null ? null : round3(similarity) },
          box: s.bestBox,
          colors: s.colors,
          zones: s.zones,
          thumbnail: withThumbs.has(s.trackId) ? { crop: `/api/tracks/${id}/thumbnail.jpg?kind=crop`, frame: `/api/tracks/${id}/thumbnail.jpg?kind=frame` } : null,
          recorded,
        };
      }),
    );

    const timeExplanation = explainTime(range, time.phrases, plan, timeZone);
    return {
      ok: true,
      response: {
        query: q.q,
        plan,
        explanation: [compiled.explanation, timeExplanation, plan.similarity ? `ranked by how closely each track's best view looks like "${plan.similarity.text}"` : null].filter(Boolean).join('; '),
        time: { from: range?.from ?? null, to: range?.to ?? null, explanation: timeExplanation, timeZone },
        hits,
        nextCursor,
        ms: Math.round((performance.now() - started) * 10) / 10,
      },
    };
  }
  /**
   * A similarity search: the text's nearest best views in the vector index (within the cameras and,
   * widened by VIEW_PAD_MS, the time of the filter) are the candidates; the structured filter keeps
   * those it matches; each is ranked by its match quality and its similarity (min–max scaled over the
   * candidates kept), with the same keyset order as a structured search.
   */
  async #similar(embedder: Embedder, index: VectorIndex, text: string, filter: Omit<TrackSearchFilter, 'limit'>, limit: number, after: TrackSearchFilter['after']): Promise<Ranked[]> {
    let vector = this.#texts.get(text);
    if (!vector) {
      const [v] = await embedder.embedTexts([text]);
      if (!v) throw new Error('the embedder returned no vector for the search text');
      vector = v;
      if (this.#texts.size >= TEXT_CACHE) this.#texts.delete(this.#texts.keys().next().value!);
      this.#texts.set(text, vector);
    }
    const lo = filter.intervals ? Math.min(...filter.intervals.map((i) => i.from)) : undefined;
    const hi = filter.intervals ? Math.max(...filter.intervals.map((i) => i.to)) : undefined;
    const candidates = await index.search(vector, {
      k: MAX_CANDIDATE_TRACKS,
      ...(filter.cameras ? { cameras: filter.cameras } : {}),
      ...(lo !== undefined ? { from: lo - VIEW_PAD_MS } : {}),
      ...(hi !== undefined ? { to: hi + VIEW_PAD_MS } : {}),
    });
    if (candidates.length === 0) return [];
    const sims = new Map(candidates.map((c) => [c.id, c.score]));
    const rows = await this.o.store.trackSummaries.search({ ...filter, trackIds: [...sims.keys()], limit: candidates.length });
    let min = Infinity;
    let max = -Infinity;
    for (const r of rows) {
      const v = sims.get(r.summary.trackId)!;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    const ranked = rows.map((hit): Ranked => {
      const similarity = sims.get(hit.summary.trackId)!;
      const scaled = max > min ? (similarity - min) / (max - min) : 1;
      return { hit, rank: (1 - SIMILARITY_WEIGHT) * hit.rank + SIMILARITY_WEIGHT * scaled, similarity };
    });
    const order = (a: Ranked, b: Ranked): number =>
      b.rank - a.rank || b.hit.summary.lastSeen - a.hit.summary.lastSeen || (a.hit.summary.trackId < b.hit.summary.trackId ? 1 : a.hit.summary.trackId > b.hit.summary.trackId ? -1 : 0);
    ranked.sort(order);
    const start = after ? ranked.findIndex((r) => r.rank < after.rank || (r.rank === after.rank && (r.hit.summary.lastSeen < after.lastSeen || (r.hit.summary.lastSeen === after.lastSeen && r.hit.summary.trackId < after.trackId)))) : 0;
    return start < 0 ? [] : ranked.slice(start, start + limit);
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function parseBound(v: string | undefined, name: string): { ok: true; value: number | null } | { ok: false; detail: string } {
  if (v === undefined || v === '') return { ok: true, value: null };
  const n = /^\d{1,16}$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) return { ok: false, detail: `${name}: "${v}" is neither ms since the epoch nor an ISO 8601 time` };
  return { ok: true, value: n };
}

/** The plan as a summary filter. */
function toFilter(plan: QueryPlan, q: { camera?: string | undefined; zone?: string | undefined; class?: string | undefined; color?: string | undefined }, intervals: TimeRange[] | undefined): { ok: true; value: Omit<TrackSearchFilter, 'limit'> } | { ok: false; error: string } {
  let classes: string[] = [...plan.subject.classes];
  if (q.class !== undefined) classes = classes.filter((c) => c === q.class);
  let cameras: string[] | undefined = plan.cameras ? [...plan.cameras] : undefined;
  if (q.camera !== undefined) cameras = cameras ? cameras.filter((c) => c === q.camera) : [q.camera];
  let zones: string[] | undefined = plan.zones ? [...plan.zones] : undefined;
  if (q.zone !== undefined) {
    const key = q.zone.toLowerCase();
    zones = zones ? zones.filter((z) => z.toLowerCase() === key) : [q.zone];
  }
  const colors: { part: 'any' | 'upper' | 'lower'; colors: BasicColor[] }[] = (plan.subject.colors ?? []).map((c) => ({ part: c.part, colors: [...c.colors] }));
  if (q.color !== undefined) colors.push({ part: 'any', colors: [q.color as BasicColor] });
  const carrying = (plan.subject.carrying ?? []).map((c) => ({
    classes: [...c.classes],
    ...(c.colors?.length ? { colorTokens: c.classes.flatMap((k) => c.colors!.map((col) => `${k}:${col}`)) } : {}),
    negated: c.negated === true,
  }));
  return {
    ok: true,
    value: {
      classes,
      ...(cameras ? { cameras } : {}),
      ...(intervals ? { intervals } : {}),
      ...(colors.length ? { colors } : {}),
      ...(zones ? { zones } : {}),
      ...(carrying.length ? { carrying } : {}),
      ...(plan.dwell ? { dwell: { minSeconds: plan.dwell.minSeconds, ...(zones ? { zones } : {}) } } : {}),
    },
  };
}

/**
 * A daily clock window (after/before/days, wrapping midnight) inside a range, as absolute intervals in
 * `tz`: one per local day it is open on.
 */
export function windowIntervals(range: TimeRange, window: NonNullable<QueryPlan['time']>, tz: string): TimeRange[] {
  const w = compileTimeWindow(window);
  const out: TimeRange[] = [];
  // Walk local days from the one before the range (a window wrapping midnight opens the evening before).
  let day = startOfLocalDay(range.from, tz, -1);
  for (let i = 0; i < MAX_WINDOW_DAYS && day < range.to; i++) {
    const next = startOfLocalDay(day + 36 * 3_600_000, tz, 0);
    const p = zonedParts(day + 12 * 3_600_000, tz);
    if ((w.days & (1 << p.dow)) !== 0) {
      // Local clock times of this day (exact across DST changes); minutes ≥ 1440 fall on the next day.
      const at = (minutes: number): number => zonedTime(tz, p.year, p.month, p.day, Math.floor(minutes / 60), minutes % 60);
      let from: number;
      let to: number;
      if (w.after >= 0 && w.before >= 0 && w.wraps) {
        from = at(w.after);
        to = at(1440 + w.before);
      } else if (w.after >= 0 && w.before >= 0 && w.after === w.before) {
        from = day;
        to = next;
      } else {
        from = w.after >= 0 ? at(w.after) : day;
        to = w.before >= 0 ? at(w.before) : next;
      }
      const f = Math.max(from, range.from);
      const t = Math.min(to, range.to);
      if (f < t) out.push({ from: f, to: t });
    }
    day = next;
  }
  return out;
}

function explainTime(range: TimeRange | null, phrases: string[], plan: QueryPlan, tz: string): string | null {
  if (!range && !plan.time) return null;
  const parts: string[] = [];
  if (range) parts.push(`${phrases.length ? `${phrases.join(', ')}: ` : ''}from ${formatLocal(range.from, tz)} to ${formatLocal(range.to, tz)}`);
  else parts.push('over the last 31 days');
  return `${parts.join('')} (${tz})`;
}

function cursorKey(q: { q: string; from?: string | undefined; to?: string | undefined; camera?: string | undefined; zone?: string | undefined; class?: string | undefined; color?: string | undefined }): string {
  const s = JSON.stringify([q.q.trim().toLowerCase(), q.from ?? '', q.to ?? '', q.camera ?? '', q.zone ?? '', q.class ?? '', q.color ?? '']);
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h.toString(36);
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeCursor(s: string): Cursor | null {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (typeof c.r !== 'number' || typeof c.l !== 'number' || typeof c.t !== 'string' || typeof c.k !== 'string') return null;
    return { r: c.r, l: c.l, t: c.t, k: c.k };
  } catch {
    return null;
  }
}
