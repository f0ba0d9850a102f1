import type { RedactedFrameMeta } from '@chronotrace/contracts';
import type { Snapshot, SnapshotRepository } from './store';
import { toBytes, type SqlSession } from './sql';

export class SqlSnapshotRepository implements SnapshotRepository {
  constructor(private readonly db: SqlSession) {}

  /** The WHERE on the conflict branch keeps a late, older frame from replacing a newer one (equal capturedAt replaces). */
  async putLatest(snapshot: Snapshot): Promise<void> {
    const { meta, jpeg } = snapshot;
    await this.db.query(
      `INSERT INTO snapshots (camera, captured_at, meta, jpeg) VALUES ($1, $2, $3::text::jsonb, $4)
       ON CONFLICT (camera) DO UPDATE SET captured_at = EXCLUDED.captured_at, meta = EXCLUDED.meta, jpeg = EXCLUDED.jpeg
       WHERE snapshots.captured_at <= EXCLUDED.captured_at`,
      [meta.camera, meta.capturedAt, JSON.stringify(meta), jpeg],
    );
  }

  async getLatest(camera: string): Promise<Snapshot | null> {
    const rows = await this.db.query<{ meta: RedactedFrameMeta; jpeg: Uint8Array }>(`SELECT meta, jpeg FROM snapshots WHERE camera = $1`, [camera]);
    const row = rows[0];
    return row ? { meta: row.meta, jpeg: toBytes(row.jpeg) } : null;
  }

  async delete(camera: string): Promise<void> {
    await this.db.query(`DELETE FROM snapshots WHERE camera = $1`, [camera]);
  }
}
