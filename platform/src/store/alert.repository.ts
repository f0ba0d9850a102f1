import type { Alert, AlertKind, AlertMessage } from '@chronotrace/contracts';
import type { AlertFilter, AlertRepository } from './store';
import { listLimit, toBytes, toNumber, type SqlSession, type SqlValue } from './sql';

interface AlertRow {
  payload: AlertMessage;
  ack_by: string | null;
  ack_at: number | string | null;
}

function toAlert(r: AlertRow): Alert {
  return { ...r.payload, ack: r.ack_by !== null && r.ack_at !== null ? { by: r.ack_by, at: toNumber(r.ack_at) } : null };
}

export class SqlAlertRepository implements AlertRepository {
  constructor(private readonly db: SqlSession) {}

  async append(alert: AlertMessage, snapshot: Uint8Array | null): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(
      `INSERT INTO alerts (id, query_id, camera, captured_at, fired_at, payload, snapshot)
       VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [alert.id, alert.queryId, alert.camera, alert.capturedAt, alert.firedAt, JSON.stringify(alert), snapshot],
    );
    return rows.length === 1;
  }

  async get(id: string): Promise<Alert | null> {
    const rows = await this.db.query<AlertRow>(`SELECT payload, ack_by, ack_at FROM alerts WHERE id = $1`, [id]);
    return rows[0] ? toAlert(rows[0]) : null;
  }

  async list(filter: AlertFilter = {}): Promise<Alert[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    const add = (sql: string, v: SqlValue): void => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.since !== undefined) add('captured_at >= ?', filter.since);
    if (filter.until !== undefined) add('captured_at < ?', filter.until);
    if (filter.camera !== undefined) add('camera = ?', filter.camera);
    if (filter.query !== undefined) add('query_id = ?', filter.query);
    params.push(listLimit(filter.limit));
    const rows = await this.db.query<AlertRow>(
      `SELECT payload, ack_by, ack_at FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY captured_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toAlert);
  }

  async snapshot(id: string): Promise<Uint8Array | null> {
    const rows = await this.db.query<{ snapshot: Uint8Array | null }>(`SELECT snapshot FROM alerts WHERE id = $1`, [id]);
    const s = rows[0]?.snapshot;
    return s ? toBytes(s) : null;
  }

  async ack(id: string, by: string, at: number): Promise<Alert | null> {
    await this.db.query(`UPDATE alerts SET ack_by = $2, ack_at = $3 WHERE id = $1 AND ack_at IS NULL`, [id, by, at]);
    return this.get(id);
  }

  async countsByHour(since: number, until: number, camera?: string): Promise<{ hour: number; kind: AlertKind; count: number }[]> {
    const rows = await this.db.query<{ hour: number | string; kind: string; n: number | string }>(
      `SELECT (captured_at / 3600000) * 3600000 AS hour, coalesce(payload->>'kind', 'track') AS kind, count(*) AS n FROM alerts
       WHERE captured_at >= $1 AND captured_at < $2 AND ($3::text IS NULL OR camera = $3)
       GROUP BY 1, 2 ORDER BY 1, 2`,
      [since, until, camera ?? null],
    );
    return rows.map((r) => ({ hour: toNumber(r.hour), kind: r.kind as AlertKind, count: toNumber(r.n) }));
  }

  async count(): Promise<number> {
    const rows = await this.db.query<{ n: number | string }>(`SELECT count(*) AS n FROM alerts`);
    return rows[0] ? toNumber(rows[0].n) : 0;
  }
}
