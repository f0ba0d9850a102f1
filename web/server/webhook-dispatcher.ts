import { createHash, createHmac, randomBytes } from 'node:crypto';
import {
  WEBHOOK_HEADERS,
  formatIssues,
  newWebhookSchema,
  type AlertMessage,
  type Webhook,
  type WebhookPayload,
} from '@chronotrace/contracts';
import type { Bus, Consumer, Logger, WebhookDelivery, WebhookRecord, WebhookRepository } from '@chronotrace/platform';

export const WEBHOOK_DURABLE = 'webhooks';
/** How long delivered rows stay in the outbox table. */
const DELIVERED_KEPT_MS = 7 * 86_400_000;

export interface WebhookDispatcherOptions {
  bus: Bus;
  webhooks: WebhookRepository;
  log: Logger;
  /** Tries per delivery before it goes to the dead letters. Default 8. */
  maxAttempts?: number;
  /** First retry delay; doubles every try. Default 1000 ms. */
  backoffMs?: number;
  /** Cap of the retry delay. Default 300 000 ms. */
  backoffMaxMs?: number;
  /** How long one POST may take. Default 10 000 ms. */
  timeoutMs?: number;
  /** How often due deliveries are looked for (also at once after an alert). Default 500 ms. */
  pollMs?: number;
  /** Prefix for snapshot links in payloads, e.g. https://wall.example.org; relative links without it. */
  publicUrl?: string;
  /** Time source, for tests. Default Date.now. */
  now?: () => number;
}

export type WebhookOutcome = { ok: true; webhook: Webhook; secret: string } | { ok: false; status: 400; error: string; details: string[] };

/** The signature a receiver checks: `sha256=` HMAC-SHA256(secret, `<timestamp>.<body>`), hex. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Delay before try `attempt + 1` after `attempt` failed tries: base·2^(attempt−1), capped, ±10 % jitter. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.9 + 0.2 * random()));
}

function publicView(w: WebhookRecord): Webhook {
  return { id: w.id, url: w.url, cameras: w.cameras, queries: w.queries, createdAt: w.createdAt };
}

function wants(w: WebhookRecord, alert: AlertMessage): boolean {
  // A webhook gets the alerts fired after it was registered (the alerts stream keeps a week of them).
  if (alert.firedAt < w.createdAt) return false;
  if (w.cameras && !w.cameras.includes(alert.camera)) return false;
  if (w.queries && !w.queries.includes(alert.queryId)) return false;
  return true;
}

/**
 * Webhooks: registration, and at-least-once delivery of alerts. Alerts from the bus (durable
 * 'webhooks', shared by web replicas) are queued in the store's outbox, one delivery per matching
 * webhook; due deliveries are claimed with a lease (so replicas never send one twice at once),
 * POSTed signed, and retried with capped exponential backoff until delivered or, after the last try,
 * moved to the dead letters. Nothing is lost when a receiver (or this process) is down.
 */
export class WebhookDispatcher {
  private consumer: Consumer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private cache: { at: number; list: WebhookRecord[] } | undefined;
  private readonly inFlight = new Set<AbortController>();
  private stats = { queued: 0, delivered: 0, failedTries: 0, dead: 0 };

  constructor(private readonly o: WebhookDispatcherOptions) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  async start(): Promise<void> {
    this.consumer = await this.o.bus.consume('alerts', { durable: WEBHOOK_DURABLE, batch: 64, deliverFrom: 'all', ackWaitMs: 30_000 }, async (msgs) => {
      for (const m of msgs) {
        try {
          await this.enqueue(m.envelope.meta);
          m.ack();
        } catch (err) {
          this.o.log.error({ err, alert: m.envelope.meta.id }, 'could not queue webhook deliveries: redelivered');
          m.nak(1000);
        }
      }
      this.kick();
    });
    this.timer = setInterval(() => this.kick(), this.o.pollMs ?? 500);
    this.timer.unref();
    // Delivered rows are kept a week for inspection, then dropped; pending ones and dead letters stay.
    this.pruneTimer = setInterval(() => {
      this.o.webhooks.pruneDelivered(this.now() - DELIVERED_KEPT_MS).catch((err: unknown) => this.o.log.warn({ err }, 'could not prune delivered webhook rows'));
    }, 3600_000);
    this.pruneTimer.unref();
    this.kick();
  }

  async register(input: unknown): Promise<WebhookOutcome> {
    const parsed = newWebhookSchema.safeParse(input);
    if (!parsed.success) return { ok: false, status: 400, error: 'invalid webhook', details: formatIssues(parsed.error.issues) };
    const secret = parsed.data.secret ?? randomBytes(24).toString('base64url');
    const record: WebhookRecord = {
      id: `wh-${randomBytes(6).toString('hex')}`,
      url: parsed.data.url,
      secret,
      cameras: parsed.data.cameras ?? null,
      queries: parsed.data.queries ?? null,
      createdAt: this.now(),
    };
    await this.o.webhooks.insert(record);
    this.cache = undefined;
    // The origin only: webhook paths often carry a token.
    this.o.log.info({ webhook: record.id, origin: new URL(record.url).origin }, 'webhook registered');
    return { ok: true, webhook: publicView(record), secret };
  }

  async list(): Promise<Webhook[]> {
    return (await this.o.webhooks.list()).map(publicView);
  }

  async remove(id: string): Promise<boolean> {
    const gone = await this.o.webhooks.delete(id);
    this.cache = undefined;
    if (gone) this.o.log.info({ webhook: id }, 'webhook removed');
    return gone;
  }

  private async hooks(): Promise<WebhookRecord[]> {
    const now = Date.now();
    if (!this.cache || now - this.cache.at > 2000) this.cache = { at: now, list: await this.o.webhooks.list() };
    return this.cache.list;
  }

  /** Queues one delivery per webhook that wants the alert (idempotent: a redelivered alert queues nothing new). */
  async enqueue(alert: AlertMessage): Promise<number> {
    let n = 0;
    for (const w of await this.hooks()) {
      if (!wants(w, alert)) continue;
      const id = `wd-${createHash('sha256').update(`${w.id}\u0000${alert.id}`).digest('hex').slice(0, 24)}`;
      const snapshot = alert.hasSnapshot ? `${this.o.publicUrl ?? ''}/api/alerts/${alert.id}/snapshot.jpg` : null;
      const payload: WebhookPayload = { type: 'alert', deliveryId: id, alert, snapshotUrl: snapshot };
      if (await this.o.webhooks.enqueue({ id, webhookId: w.id, alertId: alert.id, payload, at: this.now() })) n++;
    }
    this.stats.queued += n;
    return n;
  }

  /** Runs a delivery round now (coalescing with one in progress). */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.deliverDue();
        } catch (err) {
          this.o.log.warn({ err }, 'webhook delivery round failed');
        }
      } while (this.again && !this.closed);
    })().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves when no delivery round is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async deliverDue(): Promise<void> {
    const timeout = this.o.timeoutMs ?? 10_000;
    for (;;) {
      if (this.closed) return;
      const due = await this.o.webhooks.claimDue(this.now(), timeout * 2 + 5_000, 16);
      if (due.length === 0) return;
      if (this.closed) {
        // Closed while claiming: give them back at once instead of holding them for the lease.
        await this.o.webhooks.release(due.map((d) => d.id), this.now());
        return;
      }
      let hooks = new Map((await this.hooks()).map((w) => [w.id, w]));
      // A webhook registered through another replica since the cache was filled: read the list again.
      if (due.some((d) => !hooks.has(d.webhookId))) {
        this.cache = undefined;
        hooks = new Map((await this.hooks()).map((w) => [w.id, w]));
      }
      await Promise.all(due.map((d) => this.deliver(d, hooks.get(d.webhookId), timeout)));
    }
  }

  private async deliver(d: WebhookDelivery, hook: WebhookRecord | undefined, timeoutMs: number): Promise<void> {
    if (!hook) return; // removed meanwhile: its deliveries went with it
    const body = JSON.stringify(d.payload);
    const timestamp = String(Math.floor(this.now() / 1000));
    const ac = new AbortController();
    this.inFlight.add(ac);
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    let status: number | null = null;
    let error: string;
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'ChronoTrace-Webhook/1',
          [WEBHOOK_HEADERS.signature]: signWebhook(hook.secret, timestamp, body),
          [WEBHOOK_HEADERS.timestamp]: timestamp,
          [WEBHOOK_HEADERS.delivery]: d.id,
          [WEBHOOK_HEADERS.event]: 'alert',
        },
        body,
        signal: ac.signal,
        redirect: 'manual',
      });
      status = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) {
        await this.o.webhooks.markDelivered(d.id, this.now(), res.status);
        this.stats.delivered++;
        this.o.log.info({ webhook: hook.id, delivery: d.id, alert: d.alertId, attempts: d.attempts }, 'webhook delivered');
        return;
      }
      error = `HTTP ${res.status}`;
    } catch (e) {
      error = ac.signal.aborted ? `timed out after ${timeoutMs} ms` : ((e as Error).cause as Error | undefined)?.message ?? (e as Error).message;
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(ac);
    }
    if (this.closed && ac.signal.aborted) {
      // Aborted by close(), not failed: another dispatcher (or this one restarted) sends it now.
      await this.o.webhooks.release([d.id], this.now());
      return;
    }
    this.stats.failedTries++;
    const max = this.o.maxAttempts ?? 8;
    if (d.attempts >= max) {
      await this.o.webhooks.moveToDeadLetters(d.id, this.now(), error, status);
      this.stats.dead++;
      this.o.log.error({ webhook: hook.id, delivery: d.id, alert: d.alertId, attempts: d.attempts, error }, 'webhook delivery gave up: moved to dead letters');
      return;
    }
    const delay = backoffDelay(d.attempts, this.o.backoffMs ?? 1000, this.o.backoffMaxMs ?? 300_000);
    await this.o.webhooks.retryLater(d.id, this.now() + delay, error, status);
    this.o.log.warn({ webhook: hook.id, delivery: d.id, alert: d.alertId, attempts: d.attempts, error, retryInMs: delay }, 'webhook delivery failed: will retry');
  }

  toJSON(): { queued: number; delivered: number; failedTries: number; dead: number } {
    return { ...this.stats };
  }

  /** Stops taking alerts and new rounds; aborts POSTs in flight and gives their deliveries back, due at once (not counted as a try). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.consumer?.close();
    for (const ac of this.inFlight) ac.abort();
    await this.idle();
  }
}
