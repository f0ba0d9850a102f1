import type { EvidenceExport } from '@chronotrace/contracts';
import type { ExportRepository } from './store';
import { listLimit, toNumber, type SqlSession } from './sql';

interface ExportRow {
  id: string;
  camera: string;
  from_at: number | string;
  to_at: number | string;
  reason: string;
  requested_by: string;
  created_at: number | string;
  state: EvidenceExport['state'];
  error: string | null;
  mp4_sha256: string | null;
  mp4_bytes: number | string | null;
  has_pdf: boolean;
  finished_at: number | string | null;
}

function toExport(r: ExportRow): EvidenceExport {
  const base = `/api/exports/${r.id}`;
  return {
    id: r.id,
    camera: r.camera,
    from: toNumber(r.from_at),
    to: toNumber(r.to_at),
    reason: r.reason,
    requestedBy: r.requested_by,
    createdAt: toNumber(r.created_at),
    state: r.state,
    error: r.error,
    mp4Sha256: r.mp4_sha256,
    mp4Bytes: r.mp4_bytes === null ? null : toNumber(r.mp4_bytes),
    files: r.state === 'done' ? { mp4: `${base}/clip.mp4`, html: `${base}/report.html`, pdf: r.has_pdf ? `${base}/report.pdf` : null } : null,
    finishedAt: r.finished_at === null ? null : toNumber(r.finished_at),
  };
}

const COLUMNS = 'id, camera, from_at, to_at, reason, requested_by, created_at, state, error, mp4_sha256, mp4_bytes, has_pdf, finished_at';

export class SqlExportRepository implements ExportRepository {
  constructor(private readonly db: SqlSession) {}

  async insert(e: EvidenceExport): Promise<void> {
    await this.db.query(
      `INSERT INTO exports (id, camera, from_at, to_at, reason, requested_by, created_at, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [e.id, e.camera, e.from, e.to, e.reason, e.requestedBy, e.createdAt, e.state],
    );
  }

  async finish(id: string, result: { state: 'done' | 'failed'; error: string | null; mp4Sha256: string | null; mp4Bytes: number | null; hasPdf: boolean; at: number }): Promise<void> {
    await this.db.query(`UPDATE exports SET state = $2, error = $3, mp4_sha256 = $4, mp4_bytes = $5, has_pdf = $6, finished_at = $7 WHERE id = $1`, [
      id,
      result.state,
      result.error,
      result.mp4Sha256,
      result.mp4Bytes,
      result.hasPdf,
      result.at,
    ]);
  }

  async get(id: string): Promise<EvidenceExport | null> {
    const rows = await this.db.query<ExportRow>(`SELECT ${COLUMNS} FROM exports WHERE id = $1`, [id]);
    return rows[0] ? toExport(rows[0]) : null;
  }

  async list(limit?: number): Promise<EvidenceExport[]> {
    const rows = await this.db.query<ExportRow>(`SELECT ${COLUMNS} FROM exports ORDER BY created_at DESC, id DESC LIMIT $1`, [listLimit(limit)]);
    return rows.map(toExport);
  }

  async failInterrupted(before: number, error: string, at: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(`UPDATE exports SET state = 'failed', error = $2, finished_at = $3 WHERE state = 'processing' AND created_at < $1 RETURNING id`, [before, error, at]);
    return rows.map((r) => r.id);
  }
}
