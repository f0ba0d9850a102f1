import type { Lease, LeaseRepository } from './store';
import { toNumber, type SqlSession } from './sql';

/** Milliseconds since the epoch on the database's clock (one clock for every process, whatever host it runs on). */
const DB_NOW = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

export class SqlLeaseRepository implements LeaseRepository {
  constructor(private readonly db: SqlSession) {}

  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const rows = await this.db.query<{ owner: string }>(
      `INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, ${DB_NOW} + $3)
       ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
         WHERE leases.owner = EXCLUDED.owner OR leases.expires_at < ${DB_NOW}
       RETURNING owner`,
      [name, owner, Math.round(ttlMs)],
    );
    return rows.length === 1;
  }

  async release(name: string, owner: string): Promise<boolean> {
    const rows = await this.db.query<{ name: string }>(`DELETE FROM leases WHERE name = $1 AND owner = $2 RETURNING name`, [name, owner]);
    return rows.length === 1;
  }

  async live(prefix: string): Promise<Lease[]> {
    const rows = await this.db.query<{ name: string; owner: string; expires_at: number | string }>(
      `SELECT name, owner, expires_at FROM leases WHERE starts_with(name, $1) AND expires_at >= ${DB_NOW} ORDER BY name`,
      [prefix],
    );
    return rows.map((r) => ({ name: r.name, owner: r.owner, expiresAt: toNumber(r.expires_at) }));
  }
}
