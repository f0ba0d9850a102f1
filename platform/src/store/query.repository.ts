import type { QueryPlan, Severity, StandingQuery } from '@chronotrace/contracts';
import type { QueryRepository } from './store';
import { toNumber, type SqlSession, type SqlValue } from './sql';

interface QueryRow {
  id: string;
  text: string;
  plan: QueryPlan;
  explanation: string;
  cameras: string[] | null;
  severity: Severity;
  armed: boolean;
  version: number | string;
  created_at: number | string;
  updated_at: number | string;
}

const COLUMNS = 'id, text, plan, explanation, cameras, severity, armed, version, created_at, updated_at';

function toQuery(r: QueryRow): StandingQuery {
  return {
    id: r.id,
    text: r.text,
    plan: r.plan,
    explanation: r.explanation,
    cameras: r.cameras,
    severity: r.severity,
    armed: r.armed,
    version: toNumber(r.version),
    createdAt: toNumber(r.created_at),
    updatedAt: toNumber(r.updated_at),
  };
}

function params(q: StandingQuery): SqlValue[] {
  return [q.id, q.text, JSON.stringify(q.plan), q.explanation, q.cameras === null ? null : JSON.stringify(q.cameras), q.severity, q.armed, q.version, q.createdAt, q.updatedAt];
}

export class SqlQueryRepository implements QueryRepository {
  constructor(private readonly db: SqlSession) {}

  async insert(q: StandingQuery): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(
      `INSERT INTO standing_queries (${COLUMNS}) VALUES ($1, $2, $3::text::jsonb, $4, $5::text::jsonb, $6, $7, $8, $9, $10)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      params(q),
    );
    return rows.length === 1;
  }

  async update(q: StandingQuery, expectedVersion: number): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(
      `UPDATE standing_queries SET text = $2, plan = $3::text::jsonb, explanation = $4, cameras = $5::text::jsonb, severity = $6, armed = $7,
         version = $8, created_at = $9, updated_at = $10
       WHERE id = $1 AND version = $11 RETURNING id`,
      [...params(q), expectedVersion],
    );
    return rows.length === 1;
  }

  async get(id: string): Promise<StandingQuery | null> {
    const rows = await this.db.query<QueryRow>(`SELECT ${COLUMNS} FROM standing_queries WHERE id = $1`, [id]);
    return rows[0] ? toQuery(rows[0]) : null;
  }

  async list(options: { armed?: boolean } = {}): Promise<StandingQuery[]> {
    const rows =
      options.armed === undefined
        ? await this.db.query<QueryRow>(`SELECT ${COLUMNS} FROM standing_queries ORDER BY created_at, id`)
        : await this.db.query<QueryRow>(`SELECT ${COLUMNS} FROM standing_queries WHERE armed = $1 ORDER BY created_at, id`, [options.armed]);
    return rows.map(toQuery);
  }

  async delete(id: string): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(`DELETE FROM standing_queries WHERE id = $1 RETURNING id`, [id]);
    return rows.length === 1;
  }

  async fingerprint(): Promise<string> {
    // Versions only grow and ids are never reused, so count + sums change with every insert, edit and delete.
    const rows = await this.db.query<{ n: number | string; v: number | string | null; u: number | string | null }>(
      `SELECT count(*) AS n, sum(version) AS v, max(updated_at) AS u FROM standing_queries`,
    );
    const r = rows[0];
    return r ? `${String(r.n)}:${String(r.v ?? 0)}:${String(r.u ?? 0)}` : '0';
  }
}
