import type { RecordingHold, RecordingSegment } from '@chronotrace/contracts';
import type { RecordingRepository, RecordingTotals } from './store';
import { listLimit, toNumber, type SqlSession, type SqlValue } from './sql';

interface SegmentRow {
  camera: string;
  run_id: string;
  seq: number | string;
  path: string;
  init_path: string;
  start_at: number | string;
  end_at: number | string;
  bytes: number | string;
  frames: number | string;
  keyframes: number | string;
  width: number | string;
  height: number | string;
  archived?: boolean;
}

const COLUMNS = 'camera, run_id, seq, path, init_path, start_at, end_at, bytes, frames, keyframes, width, height';
const SELECT_COLUMNS = `${COLUMNS}, archived`;

function toSegment(r: SegmentRow): RecordingSegment {
  const seq = toNumber(r.seq);
  return {
    id: `${r.run_id}-${seq}`,
    camera: r.camera,
    run: r.run_id,
    seq,
    path: r.path,
    initPath: r.init_path,
    startAt: toNumber(r.start_at),
    endAt: toNumber(r.end_at),
    bytes: toNumber(r.bytes),
    frames: toNumber(r.frames),
    keyframes: toNumber(r.keyframes),
    width: toNumber(r.width),
    height: toNumber(r.height),
    ...(r.archived ? { archived: true } : {}),
  };
}

/** Most segments one read returns (a day of 2 s segments is 43 200). */
export const MAX_SEGMENTS = 50_000;

export class SqlRecordingRepository implements RecordingRepository {
  constructor(private readonly db: SqlSession) {}

  async add(s: RecordingSegment, at: number): Promise<boolean> {
    const rows = await this.db.query<{ seq: number }>(
      `INSERT INTO recording_segments (${COLUMNS}, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (camera, run_id, seq) DO NOTHING RETURNING seq`,
      [s.camera, s.run, s.seq, s.path, s.initPath, s.startAt, s.endAt, s.bytes, s.frames, s.keyframes, s.width, s.height, at],
    );
    return rows.length === 1;
  }

  async list(camera: string, range: { from?: number; to?: number; limit?: number } = {}): Promise<RecordingSegment[]> {
    const params: SqlValue[] = [camera, range.from ?? 0, range.to ?? Number.MAX_SAFE_INTEGER, Math.min(range.limit ?? MAX_SEGMENTS, MAX_SEGMENTS)];
    // Segments overlapping [from, to): start before `to`, end after `from`.
    const rows = await this.db.query<SegmentRow>(
      `SELECT ${SELECT_COLUMNS} FROM recording_segments WHERE camera = $1 AND start_at < $3 AND end_at > $2 ORDER BY start_at, run_id, seq LIMIT $4`,
      params,
    );
    return rows.map(toSegment);
  }

  async run(camera: string, run: string): Promise<RecordingSegment[]> {
    const rows = await this.db.query<SegmentRow>(`SELECT ${SELECT_COLUMNS} FROM recording_segments WHERE camera = $1 AND run_id = $2 ORDER BY seq`, [camera, run]);
    return rows.map(toSegment);
  }

  async runs(camera: string): Promise<string[]> {
    const rows = await this.db.query<{ run_id: string }>(`SELECT DISTINCT run_id FROM recording_segments WHERE camera = $1 ORDER BY run_id`, [camera]);
    return rows.map((r) => r.run_id);
  }

  async get(camera: string, run: string, seq: number): Promise<RecordingSegment | null> {
    const rows = await this.db.query<SegmentRow>(`SELECT ${SELECT_COLUMNS} FROM recording_segments WHERE camera = $1 AND run_id = $2 AND seq = $3`, [camera, run, seq]);
    return rows[0] ? toSegment(rows[0]) : null;
  }

  async totals(camera: string): Promise<RecordingTotals> {
    const rows = await this.db.query<{ n: number | string; bytes: number | string | null; first: number | string | null; last: number | string | null }>(
      `SELECT count(*) AS n, sum(bytes) AS bytes, min(start_at) AS first, max(end_at) AS last FROM recording_segments WHERE camera = $1`,
      [camera],
    );
    const r = rows[0];
    return {
      segments: r ? toNumber(r.n) : 0,
      bytes: r?.bytes != null ? toNumber(r.bytes) : 0,
      from: r?.first != null ? toNumber(r.first) : null,
      to: r?.last != null ? toNumber(r.last) : null,
    };
  }

  async prunable(camera: string, options: { endedBefore?: number; limit?: number }): Promise<RecordingSegment[]> {
    const rows = await this.db.query<SegmentRow>(
      `SELECT ${SELECT_COLUMNS} FROM recording_segments s
       WHERE camera = $1 AND end_at <= $2
         AND NOT EXISTS (SELECT 1 FROM recording_holds h WHERE h.camera = s.camera AND h.from_at < s.end_at AND h.to_at > s.start_at)
       ORDER BY start_at, run_id, seq LIMIT $3`,
      [camera, options.endedBefore ?? Number.MAX_SAFE_INTEGER, listLimit(options.limit ?? 1000)],
    );
    return rows.map(toSegment);
  }

  async delete(camera: string, segments: readonly { run: string; seq: number }[]): Promise<number> {
    if (segments.length === 0) return 0;
    const rows = await this.db.query<{ seq: number }>(
      `DELETE FROM recording_segments s USING jsonb_to_recordset($2::text::jsonb) AS d(run text, seq integer)
       WHERE s.camera = $1 AND s.run_id = d.run AND s.seq = d.seq RETURNING s.seq`,
      [camera, JSON.stringify(segments.map((x) => ({ run: x.run, seq: x.seq })))],
    );
    return rows.length;
  }

  async cameras(): Promise<string[]> {
    const rows = await this.db.query<{ camera: string }>(`SELECT DISTINCT camera FROM recording_segments ORDER BY camera`);
    return rows.map((r) => r.camera);
  }

  async addHold(h: RecordingHold): Promise<void> {
    await this.db.query(`INSERT INTO recording_holds (id, camera, from_at, to_at, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`, [
      h.id,
      h.camera,
      h.from,
      h.to,
      h.reason,
      h.createdAt,
    ]);
  }

  async holds(camera?: string): Promise<RecordingHold[]> {
    const rows = await this.db.query<{ id: string; camera: string; from_at: number | string; to_at: number | string; reason: string; created_at: number | string }>(
      `SELECT id, camera, from_at, to_at, reason, created_at FROM recording_holds WHERE $1::text IS NULL OR camera = $1 ORDER BY from_at, id`,
      [camera ?? null],
    );
    return rows.map((r) => ({ id: r.id, camera: r.camera, from: toNumber(r.from_at), to: toNumber(r.to_at), reason: r.reason, createdAt: toNumber(r.created_at) }));
  }

  async deleteHold(id: string): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(`DELETE FROM recording_holds WHERE id = $1 RETURNING id`, [id]);
    return rows.length === 1;
  }

  async markArchived(camera: string, segments: readonly { run: string; seq: number }[]): Promise<number> {
    if (segments.length === 0) return 0;
    const rows = await this.db.query<{ seq: number }>(
      `UPDATE recording_segments SET archived = true WHERE camera = $1 AND NOT archived AND (run_id, seq) IN (SELECT r, s FROM jsonb_to_recordset($2::text::jsonb) AS x(r text, s int)) RETURNING seq`,
      [camera, JSON.stringify(segments.map((x) => ({ r: x.run, s: x.seq })))],
    );
    return rows.length;
  }

  async unarchived(limit = 500): Promise<RecordingSegment[]> {
    const rows = await this.db.query<SegmentRow>(`SELECT ${SELECT_COLUMNS} FROM recording_segments WHERE NOT archived ORDER BY created_at, camera, run_id, seq LIMIT $1`, [Math.min(limit, MAX_SEGMENTS)]);
    return rows.map(toSegment);
  }
}
