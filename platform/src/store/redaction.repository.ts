import type { Box, ModelVersion } from '@chronotrace/contracts';
import type { RedactionRecord, RedactionRepository } from './store';
import { listLimit, toNumber, type SqlSession } from './sql';

interface RedactionRow {
  frame_id: string;
  camera: string;
  captured_at: number | string;
  redacted_at: number | string;
  faces: Box[];
  plates: Box[];
  heads: Box[];
  method: RedactionRecord['method'];
  models: ModelVersion[];
  ms: number | string;
}

function toRecord(r: RedactionRow): RedactionRecord {
  return {
    frameId: r.frame_id,
    camera: r.camera,
    capturedAt: toNumber(r.captured_at),
    redactedAt: toNumber(r.redacted_at),
    faces: r.faces,
    plates: r.plates,
    heads: r.heads,
    method: r.method,
    models: r.models,
    ms: toNumber(r.ms),
  };
}

export class SqlRedactionRepository implements RedactionRepository {
  constructor(private readonly db: SqlSession) {}

  async append(records: readonly RedactionRecord[]): Promise<void> {
    if (records.length === 0) return;
    // One statement per batch, one parameter whatever its size (see GroupWriter in the privacy stage):
    // the records as JSON, their fields read by name.
    await this.db.query(
      `INSERT INTO redaction_records (frame_id, camera, captured_at, redacted_at, faces, plates, heads, method, models, ms)
       SELECT "frameId", camera, "capturedAt", "redactedAt", faces, plates, heads, method, models, ms
       FROM jsonb_to_recordset($1::text::jsonb)
         AS r("frameId" text, camera text, "capturedAt" bigint, "redactedAt" bigint, faces jsonb, plates jsonb, heads jsonb, method text, models jsonb, ms double precision)
       ON CONFLICT (frame_id) DO NOTHING`,
      [JSON.stringify(records)],
    );
  }

  /** Newest capture first. Default limit 100, at most 10,000. */
  async list(camera: string, limit?: number): Promise<RedactionRecord[]> {
    const rows = await this.db.query<RedactionRow>(
      `SELECT frame_id, camera, captured_at, redacted_at, faces, plates, heads, method, models, ms
       FROM redaction_records WHERE camera = $1 ORDER BY captured_at DESC, frame_id DESC LIMIT $2`,
      [camera, listLimit(limit)],
    );
    return rows.map(toRecord);
  }

  async count(camera?: string): Promise<number> {
    const rows =
      camera === undefined
        ? await this.db.query<{ n: number | string }>(`SELECT count(*) AS n FROM redaction_records`)
        : await this.db.query<{ n: number | string }>(`SELECT count(*) AS n FROM redaction_records WHERE camera = $1`, [camera]);
    return rows[0] ? toNumber(rows[0].n) : 0;
  }
}
