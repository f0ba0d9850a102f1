import type { WebhookPayload } from '@chronotrace/contracts';
import type { DeadLetter, WebhookDelivery, WebhookRecord, WebhookRepository } from './store';
import { toNumber, type SqlSession, type SqlValue } from './sql';

interface WebhookRow {
  id: string;
  url: string;
  secret: string;
  cameras: string[] | null;
  queries: string[] | null;
  created_at: number | string;
}

interface DeliveryRow {
  id: string;
  webhook_id: string;
  alert_id: string;
  payload: WebhookPayload;
  status: 'pending' | 'delivered';
  attempts: number | string;
  next_attempt_at: number | string;
  last_error: string | null;
  last_status: number | string | null;
  created_at: number | string;
  delivered_at: number | string | null;
}

interface DeadRow {
  id: string;
  webhook_id: string;
  alert_id: string;
  payload: WebhookPayload;
  attempts: number | string;
  last_error: string | null;
  last_status: number | string | null;
  created_at: number | string;
  dead_at: number | string;
}

const DELIVERY_COLUMNS = 'id, webhook_id, alert_id, payload, status, attempts, next_attempt_at, last_error, last_status, created_at, delivered_at';

const orNull = (v: number | string | null): number | null => (v === null ? null : toNumber(v));

function toWebhook(r: WebhookRow): WebhookRecord {
  return { id: r.id, url: r.url, secret: r.secret, cameras: r.cameras, queries: r.queries, createdAt: toNumber(r.created_at) };
}

function toDelivery(r: DeliveryRow): WebhookDelivery {
  return {
    id: r.id,
    webhookId: r.webhook_id,
    alertId: r.alert_id,
    payload: r.payload,
    status: r.status,
    attempts: toNumber(r.attempts),
    nextAttemptAt: toNumber(r.next_attempt_at),
    lastError: r.last_error,
    lastStatus: orNull(r.last_status),
    createdAt: toNumber(r.created_at),
    deliveredAt: orNull(r.delivered_at),
  };
}

export class SqlWebhookRepository implements WebhookRepository {
  constructor(private readonly db: SqlSession) {}

  async insert(w: WebhookRecord): Promise<void> {
    await this.db.query(`INSERT INTO webhooks (id, url, secret, cameras, queries, created_at) VALUES ($1, $2, $3, $4::text::jsonb, $5::text::jsonb, $6)`, [
      w.id,
      w.url,
      w.secret,
      w.cameras === null ? null : JSON.stringify(w.cameras),
      w.queries === null ? null : JSON.stringify(w.queries),
      w.createdAt,
    ]);
  }

  async list(): Promise<WebhookRecord[]> {
    return (await this.db.query<WebhookRow>(`SELECT id, url, secret, cameras, queries, created_at FROM webhooks ORDER BY created_at, id`)).map(toWebhook);
  }

  async get(id: string): Promise<WebhookRecord | null> {
    const rows = await this.db.query<WebhookRow>(`SELECT id, url, secret, cameras, queries, created_at FROM webhooks WHERE id = $1`, [id]);
    return rows[0] ? toWebhook(rows[0]) : null;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.db.query<{ id: string }>(`DELETE FROM webhooks WHERE id = $1 RETURNING id`, [id])).length === 1;
  }

  async enqueue(d: { id: string; webhookId: string; alertId: string; payload: WebhookPayload; at: number }): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(
      `INSERT INTO webhook_deliveries (id, webhook_id, alert_id, payload, status, attempts, next_attempt_at, created_at)
       SELECT $1, $2, $3, $4::text::jsonb, 'pending', 0, $5, $5 WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = $2)
       ON CONFLICT (webhook_id, alert_id) DO NOTHING RETURNING id`,
      [d.id, d.webhookId, d.alertId, JSON.stringify(d.payload), d.at],
    );
    return rows.length === 1;
  }

  async claimDue(now: number, leaseMs: number, limit: number): Promise<WebhookDelivery[]> {
    const rows = await this.db.query<DeliveryRow>(
      `UPDATE webhook_deliveries SET next_attempt_at = $2, attempts = attempts + 1
       WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1
                    ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING ${DELIVERY_COLUMNS}`,
      [now, now + leaseMs, limit],
    );
    return rows.map(toDelivery).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async markDelivered(id: string, at: number, status: number): Promise<void> {
    await this.db.query(`UPDATE webhook_deliveries SET status = 'delivered', delivered_at = $2, last_status = $3, last_error = NULL WHERE id = $1`, [id, at, status]);
  }

  async release(ids: readonly string[], now: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query(
      `UPDATE webhook_deliveries SET next_attempt_at = $2, attempts = GREATEST(0, attempts - 1)
       WHERE status = 'pending' AND id IN (SELECT jsonb_array_elements_text($1::text::jsonb))`,
      [JSON.stringify(ids), now],
    );
  }

  async retryLater(id: string, nextAttemptAt: number, error: string, status: number | null): Promise<void> {
    await this.db.query(`UPDATE webhook_deliveries SET next_attempt_at = $2, last_error = $3, last_status = $4 WHERE id = $1 AND status = 'pending'`, [
      id,
      nextAttemptAt,
      error.slice(0, 2000),
      status,
    ]);
  }

  async moveToDeadLetters(id: string, at: number, error: string, status: number | null): Promise<void> {
    await this.db.query(
      `WITH gone AS (DELETE FROM webhook_deliveries WHERE id = $1 AND status = 'pending' RETURNING id, webhook_id, alert_id, payload, attempts, created_at)
       INSERT INTO webhook_dead_letters (id, webhook_id, alert_id, payload, attempts, last_error, last_status, created_at, dead_at)
       SELECT id, webhook_id, alert_id, payload, attempts, $3, $4, created_at, $2 FROM gone ON CONFLICT (id) DO NOTHING`,
      [id, at, error.slice(0, 2000), status],
    );
  }

  async deliveries(options: { webhookId?: string; alertId?: string } = {}): Promise<WebhookDelivery[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (options.webhookId !== undefined) {
      params.push(options.webhookId);
      where.push(`webhook_id = $${params.length}`);
    }
    if (options.alertId !== undefined) {
      params.push(options.alertId);
      where.push(`alert_id = $${params.length}`);
    }
    const rows = await this.db.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id LIMIT 10000`,
      params,
    );
    return rows.map(toDelivery);
  }

  async pruneDelivered(before: number): Promise<number> {
    const rows = await this.db.query<{ id: string }>(`DELETE FROM webhook_deliveries WHERE status = 'delivered' AND delivered_at < $1 RETURNING id`, [before]);
    return rows.length;
  }

  async deadLetters(webhookId?: string): Promise<DeadLetter[]> {
    const rows =
      webhookId === undefined
        ? await this.db.query<DeadRow>(`SELECT * FROM webhook_dead_letters ORDER BY dead_at, id LIMIT 10000`)
        : await this.db.query<DeadRow>(`SELECT * FROM webhook_dead_letters WHERE webhook_id = $1 ORDER BY dead_at, id LIMIT 10000`, [webhookId]);
    return rows.map((r) => ({
      id: r.id,
      webhookId: r.webhook_id,
      alertId: r.alert_id,
      payload: r.payload,
      attempts: toNumber(r.attempts),
      lastError: r.last_error,
      lastStatus: orNull(r.last_status),
      createdAt: toNumber(r.created_at),
      deadAt: toNumber(r.dead_at),
    }));
  }
}
