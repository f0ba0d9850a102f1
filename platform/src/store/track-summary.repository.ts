import { BASIC_COLORS, TRACK_COLOR_MIN_SHARE, type Box, type CocoClass, type ColorPart, type TrackSummary } from '@chronotrace/contracts';
import type { SummaryHit, TrackSearchFilter, TrackSummaryRepository, TrackThumbnail } from './store';
import { toBytes, toNumber, type SqlSession, type SqlValue } from './sql';

interface SummaryRow {
  track_id: string;
  camera: string;
  label: string;
  first_seen: number | string;
  last_seen: number | string;
  ended: boolean;
  observations: number | string;
  best_score: number | string;
  mean_score: number | string;
  quality: number | string;
  best_at: number | string;
  best_box: Box;
  frame_width: number | string;
  frame_height: number | string;
  colors: TrackSummary['colors'];
  zones: string[];
  dwell: Record<string, number>;
  carrying: string[];
  carried_colors: string[];
}

const SELECT = `track_id, camera, label, first_seen, last_seen, ended, observations, best_score, mean_score, quality, best_at, best_box,
  frame_width, frame_height, colors, zones, dwell, carrying, carried_colors`;

function toSummary(r: SummaryRow): TrackSummary {
  return {
    trackId: r.track_id,
    camera: r.camera,
    label: r.label,
    firstSeen: toNumber(r.first_seen),
    lastSeen: toNumber(r.last_seen),
    ended: r.ended,
    observations: toNumber(r.observations),
    bestScore: toNumber(r.best_score),
    meanScore: toNumber(r.mean_score),
    bestAt: toNumber(r.best_at),
    bestBox: r.best_box,
    frameWidth: toNumber(r.frame_width),
    frameHeight: toNumber(r.frame_height),
    colors: r.colors,
    zones: r.zones,
    dwell: r.dwell,
    carrying: r.carrying as CocoClass[],
    carriedColors: r.carried_colors,
  };
}

const COLOR_BIT = new Map<string, number>(BASIC_COLORS.map((c, i) => [c, 1 << i]));
const PART_COLUMN: Record<ColorPart, string> = { any: 'color_any', upper: 'color_upper', lower: 'color_lower' };

/** Bit mask of colours (bit i = BASIC_COLORS[i]). */
export function colorMask(colors: readonly string[]): number {
  let m = 0;
  for (const c of colors) m |= COLOR_BIT.get(c) ?? 0;
  return m;
}

/** Most hits one search page returns. */
export const MAX_SEARCH_LIMIT = 500;
/** Most candidate tracks a search restricted to `trackIds` takes (and returns). */
export const MAX_CANDIDATE_TRACKS = 2000;

/**
 * Per-track summaries and their thumbnails. Search filters on columns (class, camera, time, colour bit
 * masks, zones, carried classes) and ranks in SQL, so a page costs an index scan plus a top-N, never a
 * pass over per-frame rows.
 */
export class SqlTrackSummaryRepository implements TrackSummaryRepository {
  constructor(private readonly db: SqlSession) {}

  async upsert(summaries: readonly (TrackSummary & { quality: number })[], at: number): Promise<void> {
    const last = new Map<string, TrackSummary & { quality: number }>();
    for (const s of summaries) last.set(s.trackId, s);
    if (last.size === 0) return;
    const rows = [...last.values()].map((s) => ({
      ...s,
      colorAny: colorMaskOf(s, 'any'),
      colorUpper: colorMaskOf(s, 'upper'),
      colorLower: colorMaskOf(s, 'lower'),
    }));
    await this.db.query(
      `INSERT INTO track_summaries (track_id, camera, label, first_seen, last_seen, ended, observations, best_score, mean_score, quality, best_at, best_box,
         frame_width, frame_height, color_any, color_upper, color_lower, colors, zones, dwell, carrying, carried_colors, updated_at)
       SELECT e->>'trackId', e->>'camera', e->>'label', (e->>'firstSeen')::bigint, (e->>'lastSeen')::bigint, (e->>'ended')::boolean,
         (e->>'observations')::integer, (e->>'bestScore')::float8, (e->>'meanScore')::float8, (e->>'quality')::float8, (e->>'bestAt')::bigint, e->'bestBox',
         (e->>'frameWidth')::integer, (e->>'frameHeight')::integer, (e->>'colorAny')::integer, (e->>'colorUpper')::integer, (e->>'colorLower')::integer,
         e->'colors', ARRAY(SELECT jsonb_array_elements_text(e->'zones')), e->'dwell', ARRAY(SELECT jsonb_array_elements_text(e->'carrying')),
         ARRAY(SELECT jsonb_array_elements_text(e->'carriedColors')), $2
       FROM jsonb_array_elements($1::text::jsonb) AS e
       ON CONFLICT (track_id) DO UPDATE SET last_seen = EXCLUDED.last_seen, ended = EXCLUDED.ended, observations = EXCLUDED.observations,
         best_score = EXCLUDED.best_score, mean_score = EXCLUDED.mean_score, quality = EXCLUDED.quality, best_at = EXCLUDED.best_at,
         best_box = EXCLUDED.best_box, frame_width = EXCLUDED.frame_width, frame_height = EXCLUDED.frame_height, color_any = EXCLUDED.color_any,
         color_upper = EXCLUDED.color_upper, color_lower = EXCLUDED.color_lower, colors = EXCLUDED.colors, zones = EXCLUDED.zones,
         dwell = EXCLUDED.dwell, carrying = EXCLUDED.carrying, carried_colors = EXCLUDED.carried_colors, updated_at = EXCLUDED.updated_at`,
      [JSON.stringify(rows), at],
    );
  }

  async get(trackId: string): Promise<TrackSummary | null> {
    const rows = await this.db.query<SummaryRow>(`SELECT ${SELECT} FROM track_summaries WHERE track_id = $1`, [trackId]);
    return rows[0] ? toSummary(rows[0]) : null;
  }

  async search(f: TrackSearchFilter): Promise<SummaryHit[]> {
    if (f.classes.length === 0 || f.cameras?.length === 0 || f.intervals?.length === 0 || f.trackIds?.length === 0) return [];
    if (f.trackIds && f.trackIds.length > MAX_CANDIDATE_TRACKS) throw new RangeError(`a search takes at most ${MAX_CANDIDATE_TRACKS} candidate tracks, got ${f.trackIds.length}`);
    const params: SqlValue[] = [];
    const p = (v: SqlValue): string => {
      params.push(v);
      return `$${params.length}`;
    };
    const where: string[] = [];
    where.push(f.classes.length === 1 ? `label = ${p(f.classes[0]!)}` : `label IN (SELECT jsonb_array_elements_text(${p(JSON.stringify(f.classes))}::text::jsonb))`);
    if (f.trackIds) where.push(`track_id IN (SELECT jsonb_array_elements_text(${p(JSON.stringify(f.trackIds))}::text::jsonb))`);
    if (f.cameras) where.push(f.cameras.length === 1 ? `camera = ${p(f.cameras[0]!)}` : `camera IN (SELECT jsonb_array_elements_text(${p(JSON.stringify(f.cameras))}::text::jsonb))`);
    if (f.intervals) {
      // The outer bounds use the indexes; the intervals (a clock window on each day) refine.
      const lo = Math.min(...f.intervals.map((i) => i.from));
      const hi = Math.max(...f.intervals.map((i) => i.to));
      where.push(`last_seen >= ${p(lo)} AND first_seen < ${p(hi)}`);
      if (f.intervals.length > 1) {
        where.push(`EXISTS (SELECT 1 FROM jsonb_to_recordset(${p(JSON.stringify(f.intervals))}::text::jsonb) AS w("from" bigint, "to" bigint) WHERE first_seen < w."to" AND last_seen >= w."from")`);
      }
    }
    const colorTerms: string[] = [];
    for (const c of f.colors ?? []) {
      where.push(`(${PART_COLUMN[c.part]} & ${p(colorMask(c.colors))}) <> 0`);
      const shares = c.colors.map((col) => `COALESCE((colors->${p(c.part)}->>${p(col)})::float8, 0)`);
      colorTerms.push(shares.length === 1 ? shares[0]! : `GREATEST(${shares.join(', ')})`);
    }
    if (f.zones?.length) where.push(`zones && ARRAY(SELECT jsonb_array_elements_text(${p(JSON.stringify(f.zones))}::text::jsonb))`);
    for (const c of f.carrying ?? []) {
      if (c.negated) {
        where.push(`NOT (carrying && ARRAY(SELECT jsonb_array_elements_text(${p(JSON.stringify(c.classes))}::text::jsonb)))`);
        continue;
      }
      const tokens = c.colorTokens?.length ? c.colorTokens : c.classes;
      const column = c.colorTokens?.length ? 'carried_colors' : 'carrying';
      where.push(`${column} && ARRAY(SELECT jsonb_array_elements_text(${p(JSON.stringify(tokens))}::text::jsonb))`);
    }
    if (f.dwell) {
      if (f.dwell.zones?.length) {
        where.push(
          `EXISTS (SELECT 1 FROM jsonb_each_text(dwell) AS d WHERE d.key IN (SELECT jsonb_array_elements_text(${p(JSON.stringify(f.dwell.zones))}::text::jsonb)) AND d.value::float8 >= ${p(f.dwell.minSeconds)})`,
        );
      } else where.push(`last_seen - first_seen >= ${p(f.dwell.minSeconds * 1000)}`);
    }
    const colorScore = colorTerms.length === 0 ? 'NULL::float8' : `((${colorTerms.join(' + ')}) / ${colorTerms.length})`;
    // Colour share weighs in when the query names colours; without colours the rank is the stored quality (an index order).
    const rank = colorTerms.length === 0 ? 'quality' : `(quality * (0.4 + 0.6 * ${colorScore}))`;
    if (f.after) where.push(`(${rank}, last_seen, track_id) < (${p(f.after.rank)}::float8, ${p(f.after.lastSeen)}::bigint, ${p(f.after.trackId)}::text)`);
    const limit = p(Math.min(Math.max(1, f.limit), f.trackIds ? MAX_CANDIDATE_TRACKS : MAX_SEARCH_LIMIT));
    const rows = await this.db.query<SummaryRow & { rank: number | string; color_score: number | string | null }>(
      `SELECT ${SELECT}, ${rank} AS rank, ${colorScore} AS color_score FROM track_summaries
       WHERE ${where.join(' AND ')}
       ORDER BY ${rank} DESC, last_seen DESC, track_id DESC LIMIT ${limit}`,
      params,
    );
    return rows.map((r) => ({ summary: toSummary(r), quality: toNumber(r.quality), rank: toNumber(r.rank), colorScore: r.color_score === null ? null : toNumber(r.color_score) }));
  }

  async inRange(camera: string, from: number, to: number, limit = 5000): Promise<TrackSummary[]> {
    const rows = await this.db.query<SummaryRow>(
      `SELECT ${SELECT} FROM track_summaries WHERE camera = $1 AND last_seen >= $2 AND first_seen < $3 ORDER BY first_seen, track_id LIMIT $4`,
      [camera, from, to, Math.min(limit, 50_000)],
    );
    return rows.map(toSummary);
  }

  async putThumbnail(t: TrackThumbnail): Promise<void> {
    await this.db.query(
      `INSERT INTO track_thumbnails (track_id, camera, captured_at, crop, frame) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (track_id) DO UPDATE SET captured_at = EXCLUDED.captured_at, crop = EXCLUDED.crop, frame = EXCLUDED.frame`,
      [t.trackId, t.camera, t.capturedAt, t.crop, t.frame],
    );
  }

  async thumbnail(trackId: string, kind: 'crop' | 'frame'): Promise<Uint8Array | null> {
    const rows = await this.db.query<{ img: Uint8Array }>(`SELECT ${kind === 'crop' ? 'crop' : 'frame'} AS img FROM track_thumbnails WHERE track_id = $1`, [trackId]);
    return rows[0] ? toBytes(rows[0].img) : null;
  }

  async withThumbnails(trackIds: readonly string[]): Promise<Set<string>> {
    if (trackIds.length === 0) return new Set();
    const rows = await this.db.query<{ track_id: string }>(`SELECT track_id FROM track_thumbnails WHERE track_id IN (SELECT jsonb_array_elements_text($1::text::jsonb))`, [
      JSON.stringify(trackIds),
    ]);
    return new Set(rows.map((r) => r.track_id));
  }

  async count(): Promise<number> {
    const rows = await this.db.query<{ n: number | string }>(`SELECT count(*) AS n FROM track_summaries`);
    return rows[0] ? toNumber(rows[0].n) : 0;
  }

  async deleteCamera(camera: string): Promise<number> {
    await this.db.query(`DELETE FROM track_thumbnails WHERE camera = $1`, [camera]);
    const rows = await this.db.query<{ track_id: string }>(`DELETE FROM track_summaries WHERE camera = $1 RETURNING track_id`, [camera]);
    return rows.length;
  }

  async prune(before: number): Promise<number> {
    const rows = await this.db.query<{ track_id: string }>(`DELETE FROM track_summaries WHERE last_seen < $1 RETURNING track_id`, [before]);
    // A thumbnail is of a moment before its track's last sighting: older than `before` means its track is gone too (or going).
    await this.db.query(`DELETE FROM track_thumbnails WHERE captured_at < $1 AND track_id NOT IN (SELECT track_id FROM track_summaries)`, [before]);
    return rows.length;
  }
}

function colorMaskOf(s: TrackSummary, part: ColorPart): number {
  const shares = s.colors[part];
  if (!shares) return 0;
  return colorMask(Object.entries(shares).filter(([, v]) => (v ?? 0) >= TRACK_COLOR_MIN_SHARE).map(([k]) => k));
}
