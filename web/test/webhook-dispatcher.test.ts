import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { QUERY_PLAN_VERSION, type AlertMessage, type WebhookPayload } from '@chronotrace/contracts';
import { InProcessBus, JetStreamBus, createLogger, type Bus, type SqlStore } from '@chronotrace/platform';
import { storeTargets } from '../../platform/test/store-targets';
import { waitFor } from '../../test/support/runtime';
import { WebhookDispatcher, backoffDelay, signWebhook } from '../server/webhook-dispatcher';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const log = createLogger('webhook-test');
const [pglite, postgres] = storeTargets('webhooks');
const jetstreams: JetStreamBus[] = [];
const prefixes: string[] = [];

afterAll(async () => {
  for (const bus of jetstreams) {
    for await (const name of bus.jsm.streams.names()) if (prefixes.some((p) => name.startsWith(`${p}_`))) await bus.jsm.streams.delete(name);
    await bus.close();
  }
});

interface Ports {
  kind: string;
  open(): Promise<{ bus: Bus; store: SqlStore; close(): Promise<void> }>;
}

const PORTS: Ports[] = [
  {
    kind: 'in-process bus + PGlite',
    open: async () => {
      const store = await pglite!.open();
      const bus = new InProcessBus();
      return { bus, store, close: async () => (await bus.close(), await store.close()) };
    },
  },
  {
    kind: 'JetStream + PostgreSQL',
    open: async () => {
      const store = await postgres!.open();
      const prefix = `TESTWH_${process.pid}_${Date.now().toString(36)}_${prefixes.length}`;
      prefixes.push(prefix);
      const bus = await JetStreamBus.connect({ servers: NATS_URL, prefix });
      jetstreams.push(bus);
      return { bus, store, close: () => store.close() };
    },
  },
];

function alert(n: number, overrides: Partial<AlertMessage> = {}): AlertMessage {
  return {
    id: `al_${String(n).padStart(6, '0')}`,
    queryId: 'q-1',
    queryText: 'person',
    queryVersion: 1,
    planVersion: QUERY_PLAN_VERSION,
    plan: { version: QUERY_PLAN_VERSION, subject: { classes: ['person'] } },
    explanation: 'a person',
    severity: 'warning',
    kind: 'track',
    camera: 'gate',
    frameId: `gate:x:${n}`,
    capturedAt: Date.now(),
    firedAt: Date.now(),
    tracks: [],
    scores: { hysteresis: 1, detection: 0.9, color: 1 },
    reason: 'person: 2 of the last 3 frames',
    models: [],
    frame: { width: 640, height: 480 },
    hasSnapshot: true,
    ...overrides,
  };
}

/** A receiver on loopback whose answer the test sets; records every call. */
async function receiver(answer: () => number, delayMs = 0): Promise<{ url: string; calls: { delivery: string; alert: string; status: number; valid: (secret: string) => boolean }[]; close(): Promise<void> }> {
  const calls: { delivery: string; alert: string; status: number; valid: (secret: string) => boolean }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = answer();
      const ts = String(req.headers['x-chronotrace-timestamp']);
      const sig = String(req.headers['x-chronotrace-signature']);
      calls.push({ delivery: String(req.headers['x-chronotrace-delivery']), alert: (JSON.parse(body) as WebhookPayload).alert.id, status, valid: (s) => signWebhook(s, ts, body) === sig });
      setTimeout(() => res.writeHead(status).end(), delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, calls, close: () => new Promise((r) => server.close(() => r())) };
}

describe('backoffDelay', () => {
  it('doubles from the base, caps, and jitters by at most 10 %', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, 1000, 10_000, mid))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(backoffDelay(1, 1000, 10_000, () => 0)).toBe(900);
    expect(backoffDelay(1, 1000, 10_000, () => 0.9999)).toBe(1100);
  });
});

describe.each(PORTS)('WebhookDispatcher on $kind', (ports) => {
  it('delivers each alert exactly once, signed, when two dispatchers (replicas) share the outbox', async () => {
    const p = await ports.open();
    const rx = await receiver(() => 200, 20);
    const a = new WebhookDispatcher({ bus: p.bus, webhooks: p.store.webhooks, log, pollMs: 50 });
    const b = new WebhookDispatcher({ bus: p.bus, webhooks: p.store.webhooks, log, pollMs: 50 });
    try {
      const reg = await a.register({ url: rx.url, secret: 'x'.repeat(32) });
      if (!reg.ok) throw new Error(reg.error);
      await a.start();
      await b.start();
      for (let i = 0; i < 20; i++) await p.bus.publish('alerts', 'gate', { meta: alert(i) }, { msgId: alert(i).id });
      await waitFor('20 deliveries', async () => (await p.store.webhooks.deliveries()).filter((d) => d.status === 'delivered').length === 20, 20_000, 50);
      expect(rx.calls.length).toBe(20);
      expect(new Set(rx.calls.map((c) => c.alert)).size).toBe(20);
      expect(rx.calls.every((c) => c.valid('x'.repeat(32)))).toBe(true);
      expect(rx.calls.some((c) => c.valid('y'.repeat(32)))).toBe(false);
      // A redelivered alert queues nothing new.
      expect(await a.enqueue(alert(3))).toBe(0);
    } finally {
      await a.close();
      await b.close();
      await rx.close();
      await p.close();
    }
  });

  it('retries with backoff and moves a delivery to the dead letters after its last try', async () => {
    const p = await ports.open();
    const rx = await receiver(() => 500);
    const d = new WebhookDispatcher({ bus: p.bus, webhooks: p.store.webhooks, log, pollMs: 20, maxAttempts: 3, backoffMs: 30, backoffMaxMs: 100 });
    try {
      const reg = await d.register({ url: rx.url });
      if (!reg.ok) throw new Error(reg.error);
      await d.start();
      await p.bus.publish('alerts', 'gate', { meta: alert(1) }, { msgId: alert(1).id });
      await waitFor('a dead letter', async () => (await p.store.webhooks.deadLetters()).length === 1, 15_000, 50);
      const [dead] = await p.store.webhooks.deadLetters(reg.webhook.id);
      expect(dead).toMatchObject({ alertId: alert(1).id, attempts: 3, lastError: 'HTTP 500', lastStatus: 500 });
      expect(await p.store.webhooks.deliveries()).toEqual([]);
      expect(rx.calls.map((c) => c.status)).toEqual([500, 500, 500]);
      expect(d.toJSON()).toMatchObject({ dead: 1, failedTries: 3, delivered: 0 });
    } finally {
      await d.close();
      await rx.close();
      await p.close();
    }
  });

  it('loses nothing while the receiver and the dispatcher are both down: a later dispatcher delivers from the outbox', async () => {
    const p = await ports.open();
    const first = new WebhookDispatcher({ bus: p.bus, webhooks: p.store.webhooks, log, pollMs: 20, backoffMs: 20, backoffMaxMs: 50 });
    // Nothing listens on this port yet: connection refused.
    const rx = await receiver(() => 200);
    const url = rx.url;
    await rx.close();
    const reg = await first.register({ url, queries: ['q-1'] });
    if (!reg.ok) throw new Error(reg.error);
    await first.start();
    await p.bus.publish('alerts', 'gate', { meta: alert(7) }, { msgId: alert(7).id });
    await p.bus.publish('alerts', 'gate', { meta: alert(8, { queryId: 'q-other' }) }, { msgId: alert(8).id });
    await waitFor('a failed try', async () => (await p.store.webhooks.deliveries())[0]?.lastError != null, 10_000, 20);
    await first.close();
    const [pending] = await p.store.webhooks.deliveries();
    expect(pending).toMatchObject({ alertId: alert(7).id, status: 'pending' });
    expect(pending!.lastError).toMatch(/ECONNREFUSED|refused|fetch failed/i);

    // The receiver comes back on the same port; a new dispatcher (a restart) picks the delivery up.
    const port = Number(new URL(url).port);
    const calls: string[] = [];
    const server = createServer((req, res) => {
      calls.push(String(req.headers['x-chronotrace-delivery']));
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    const second = new WebhookDispatcher({ bus: p.bus, webhooks: p.store.webhooks, log, pollMs: 20 });
    try {
      await second.start();
      await waitFor('delivered after the restart', async () => (await p.store.webhooks.deliveries())[0]?.status === 'delivered', 10_000, 20);
      expect(calls).toEqual([pending!.id]);
      // The filter kept the other query's alert out.
      expect((await p.store.webhooks.deliveries()).map((x) => x.alertId)).toEqual([alert(7).id]);
    } finally {
      await second.close();
      await new Promise<void>((r) => server.close(() => r()));
      await p.close();
    }
  });

  it('a dispatcher closed with a POST in flight gives the delivery back, due at once and not counted as a try', async () => {
    const p = await ports.open();
    // A receiver that takes the request and never answers.
    const requests: string[] = [];
    const hanging = createServer((req) => requests.push(String(req.headers['x-chronotrace-delivery'])));
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/hook`;
    const first = new WebhookDispatcher({ bus: p.bus, webhooks: p.store.webhooks, log, pollMs: 20, timeoutMs: 600_000 });
    try {
      const reg = await first.register({ url, queries: ['q-1'] });
      if (!reg.ok) throw new Error(reg.error);
      await first.start();
      await p.bus.publish('alerts', 'gate', { meta: alert(9) }, { msgId: alert(9).id });
      await waitFor('the POST in flight', () => requests.length === 1, 10_000, 20);
      await first.close();
      const [given] = await p.store.webhooks.deliveries();
      expect(given).toMatchObject({ alertId: alert(9).id, status: 'pending', attempts: 0 });
      expect(given!.nextAttemptAt).toBeLessThanOrEqual(Date.now());
    } finally {
      await first.close();
      hanging.closeAllConnections();
      await new Promise<void>((r) => hanging.close(() => r()));
      await p.close();
    }
  });
});
