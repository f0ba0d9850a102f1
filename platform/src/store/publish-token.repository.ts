import type { PublishTokenRecord, PublishTokenRepository } from './store';
import { toNumber, type SqlSession } from './sql';

export class SqlPublishTokenRepository implements PublishTokenRepository {
  constructor(private readonly db: SqlSession) {}

  async put(record: PublishTokenRecord): Promise<boolean> {
    const rows = await this.db.query<{ camera: string }>(
      `INSERT INTO publish_tokens (camera, token_hash, created_at)
       SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM cameras WHERE id = $1)
       ON CONFLICT (camera) DO UPDATE SET token_hash = EXCLUDED.token_hash, created_at = EXCLUDED.created_at
       RETURNING camera`,
      [record.camera, record.tokenHash, record.createdAt],
    );
    return rows.length === 1;
  }

  async get(camera: string): Promise<PublishTokenRecord | null> {
    const rows = await this.db.query<{ camera: string; token_hash: string; created_at: number | string }>(
      `SELECT camera, token_hash, created_at FROM publish_tokens WHERE camera = $1`,
      [camera],
    );
    const r = rows[0];
    return r ? { camera: r.camera, tokenHash: r.token_hash, createdAt: toNumber(r.created_at) } : null;
  }

  async delete(camera: string): Promise<boolean> {
    const rows = await this.db.query<{ camera: string }>(`DELETE FROM publish_tokens WHERE camera = $1 RETURNING camera`, [camera]);
    return rows.length === 1;
  }
}
