import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import {
  WEBHOOK_HEADERS,
  type Alert,
  type BacktestResult,
  type ClientToServerEvents,
  type QueryRejection,
  type ServerToClientEvents,
  type StandingQuery,
  type WebhookPayload,
} from '@chronotrace/contracts';
import { startRtspServer, type RtspTestServer } from '../media-server/test/fixtures/rtsp-server';
import { signWebhook } from '../web/server/webhook-dispatcher';
import { startTestRuntime, waitFor, type TestRuntime } from './support/runtime';

const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  answered: number;
}

/** A webhook receiver on loopback that is "down" (503) for its first `failFirst` calls. */
async function startReceiver(failFirst: number): Promise<{ url: string; calls: Received[]; close(): Promise<void> }> {
  const calls: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answered = calls.length < failFirst ? 503 : 200;
      calls.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/chronotrace`, calls, close: () => new Promise((r) => server.close(() => r())) };
}

let rtsp: RtspTestServer;
let t: TestRuntime;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  // Real pedestrians (Debian's opencv-doc sample) served as a real RTSP camera on loopback.
  rtsp = await startRtspServer(undefined, { width: 480, height: 360, fps: 10, video: VTEST });
  t = await startTestRuntime([{ id: 'street', name: 'Street', location: 'Loopback RTSP', source: rtsp.url, fps: 2, width: 480 }], {
    WEBHOOK_BACKOFF_MS: '200',
    WEBHOOK_BACKOFF_MAX_MS: '1000',
  });
  receiver = await startReceiver(2);
});
afterAll(async () => {
  await t?.close();
  await rtsp?.stop();
  await receiver?.close();
});

const json = (method: string, path: string, body?: unknown) =>
  fetch(`${t.url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

describe('standing query → alert, end to end', () => {
  it('alerts a Socket.io client and a webhook that is down for its first two calls, with a redacted snapshot, and the backtest finds it too', async () => {
    const hook = await json('POST', '/api/webhooks', { url: receiver.url });
    expect(hook.status).toBe(201);
    const { id: webhookId, secret } = (await hook.json()) as { id: string; secret: string };
    expect(secret.length).toBeGreaterThanOrEqual(16);

    // A misspelling is refused with a suggestion, and nothing is stored.
    const bad = await json('POST', '/api/queries', { text: 'persn on the street camera' });
    expect(bad.status).toBe(400);
    const rejection = (await bad.json()) as QueryRejection;
    expect(rejection.unknownTerms).toEqual(['persn']);
    expect(rejection.suggestions.persn).toContain('person');

    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(t.url, { transports: ['websocket'], forceNew: true });
    const alerts: Alert[] = [];
    const acks: { id: string; by: string }[] = [];
    socket.on('alert', (a) => alerts.push(a));
    socket.on('alertAck', (a) => acks.push(a));
    try {
      await waitFor('socket connected', () => socket.connected, 10_000);
      const created = await json('POST', '/api/queries', { text: 'person on the street camera', severity: 'critical' });
      expect(created.status).toBe(201);
      const query = (await created.json()) as StandingQuery;
      expect(query.plan.subject.classes).toEqual(['person']);
      expect(query.plan.cameras).toEqual(['street']);
      expect(query.explanation).toMatch(/person/);
      expect(query.armed).toBe(true);

      const alert = await waitFor('an alert on the socket', () => alerts.find((a) => a.queryId === query.id), 90_000, 100);
      expect(alert).toMatchObject({ camera: 'street', severity: 'critical', kind: 'track', queryText: 'person on the street camera', hasSnapshot: true, ack: null });
      expect(alert.tracks[0]?.label).toBe('person');
      expect(alert.tracks[0]?.box.w).toBeGreaterThan(0);
      expect(alert.frame).toEqual({ width: 480, height: 360 });
      expect(alert.models.map((m) => m.name)).toEqual(expect.arrayContaining(['tracker', 'matcher']));
      expect(alert.firedAt).toBeGreaterThanOrEqual(alert.capturedAt);

      // The snapshot is the redacted frame that fired, and every frame that left the boundary has its redaction record.
      const snap = await fetch(`${t.url}/api/alerts/${alert.id}/snapshot.jpg`);
      expect(snap.status).toBe(200);
      expect(snap.headers.get('content-type')).toBe('image/jpeg');
      const records = await t.runtime.ports.store.redactions.list('street', 10_000);
      expect(records.map((r) => r.frameId)).toContain(alert.frameId);
      expect(records.find((r) => r.frameId === alert.frameId)?.heads.length).toBeGreaterThan(0);

      const listed = (await (await fetch(`${t.url}/api/alerts?camera=street&query=${query.id}`)).json()) as Alert[];
      expect(listed.map((a) => a.id)).toContain(alert.id);

      // The webhook: two 503s, then delivered on the third try, each signed, the same delivery id every time.
      await waitFor('webhook delivered', () => receiver.calls.some((c) => c.answered === 200), 30_000, 100);
      const forAlert = receiver.calls.filter((c) => (JSON.parse(c.body) as WebhookPayload).alert.id === alert.id);
      expect(forAlert.map((c) => c.answered)).toEqual([503, 503, 200]);
      for (const c of forAlert) {
        const ts = String(c.headers[WEBHOOK_HEADERS.timestamp]);
        expect(c.headers[WEBHOOK_HEADERS.signature]).toBe(signWebhook(secret, ts, c.body));
        expect(c.headers[WEBHOOK_HEADERS.delivery]).toBe(forAlert[0]!.headers[WEBHOOK_HEADERS.delivery]);
      }
      const payload = JSON.parse(forAlert[2]!.body) as WebhookPayload;
      expect(payload.snapshotUrl).toBe(`/api/alerts/${alert.id}/snapshot.jpg`);
      const delivery = await waitFor(
        'the delivery marked delivered',
        async () => (await t.runtime.ports.store.webhooks.deliveries({ webhookId })).find((d) => d.alertId === alert.id && d.status === 'delivered'),
        10_000,
        100,
      );
      expect(delivery).toMatchObject({ attempts: 3, lastStatus: 200 });

      // Acknowledge: stored once, told to every browser.
      const acked = await json('POST', `/api/alerts/${alert.id}/ack`);
      expect(acked.status).toBe(200);
      expect(((await acked.json()) as Alert).ack?.by).toBe('local');
      await waitFor('alertAck on the socket', () => acks.some((a) => a.id === alert.id), 10_000, 100);

      // The backtest replays the stored scene and finds what live found, without firing anything new.
      // Frames' tracks are written in batches (within SCENE_WRITE_EVERY_MS): wait until the alert's frame is stored.
      const before = alerts.length;
      const result = await waitFor(
        'a backtest that sees the alert frame',
        async () => {
          const bt = await json('POST', `/api/queries/${query.id}/backtest`, { from: query.createdAt - 60_000, to: Date.now() + 1000 });
          expect(bt.status).toBe(200);
          const r = (await bt.json()) as BacktestResult;
          return r.hits.some((h) => h.frameId === alert.frameId) ? r : undefined;
        },
        10_000,
        100,
      );
      expect(result.frames).toBeGreaterThan(0);
      expect(result.cameras).toEqual(['street']);
      expect(result.hits.length).toBeGreaterThanOrEqual(1);
      expect(result.hits.map((h) => h.frameId)).toContain(alert.frameId);
      expect(alerts.length).toBe(before);
    } finally {
      socket.close();
    }
  });
});
