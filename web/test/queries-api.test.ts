import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { ApiError, BacktestResult, ClientToServerEvents, QueryCompileResult, QueryRejection, ServerToClientEvents, StandingQuery, Webhook } from '@chronotrace/contracts';
import { startTestRuntime, waitFor, type TestRuntime } from '../../test/support/runtime';

let t: TestRuntime;

beforeAll(async () => {
  t = await startTestRuntime(
    [
      {
        id: 'dock',
        name: 'Loading dock — north',
        location: 'Warehouse',
        source: 'testsrc:testsrc2',
        fps: 2,
        width: 320,
        zones: [{ name: 'Loading Bay', polygon: [[0, 0.5], [1, 0.5], [1, 1], [0, 1]] }],
      },
      { id: 'lobby', name: 'Lobby', location: 'HQ', source: 'testsrc:smptebars', fps: 2, width: 320 },
    ],
    { PRIVACY_OBJECT_DETECTION: 'off' },
  );
});
afterAll(async () => {
  await t?.close();
});

const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(`${t.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });

describe('standing queries API', () => {
  it('compiles as the operator types, naming the zone and camera from the config, without storing anything', async () => {
    const res = await send('POST', '/api/queries/compile', { text: 'person with a red backpack in the loading bay on the loading dock camera' });
    expect(res.status).toBe(200);
    const r = (await res.json()) as QueryCompileResult;
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.plan.zones).toEqual(['Loading Bay']);
    expect(r.plan.cameras).toEqual(['dock']);
    expect(r.plan.subject.carrying).toEqual([{ classes: ['backpack'], colors: ['red'] }]);
    expect(r.explanation).toMatch(/Loading dock/);
    const bad = (await (await send('POST', '/api/queries/compile', { text: 'persn near the gate' })).json()) as QueryCompileResult;
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.unknownTerms).toContain('persn');
    expect(await (await send('GET', '/api/queries')).json()).toEqual([]);
  });

  it('creates, lists, edits, disarms and deletes a query, telling every browser each time', async () => {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(t.url, { transports: ['websocket'], forceNew: true });
    const lists: StandingQuery[][] = [];
    socket.on('queries', (q) => lists.push(q));
    try {
      await waitFor('socket', () => socket.connected, 10_000);
      const res = await send('POST', '/api/queries', { text: 'more than 5 people at the loading bay', severity: 'critical', cameras: ['dock'] });
      expect(res.status).toBe(201);
      const q = (await res.json()) as StandingQuery;
      expect(q).toMatchObject({ text: 'more than 5 people at the loading bay', severity: 'critical', armed: true, version: 1, cameras: ['dock'] });
      expect(q.id).toMatch(/^q-[0-9a-f]{12}$/);
      expect(q.plan).toMatchObject({ count: { op: '>', n: 5 }, zones: ['Loading Bay'], cameras: ['dock'] });
      await waitFor('queries broadcast', () => lists.at(-1)?.some((x) => x.id === q.id), 5_000, 50);

      expect(((await (await send('GET', '/api/queries')).json()) as StandingQuery[]).map((x) => x.id)).toEqual([q.id]);
      expect(((await (await send('GET', `/api/queries/${q.id}`)).json()) as StandingQuery).text).toBe(q.text);

      const off = await send('PATCH', `/api/queries/${q.id}`, { armed: false });
      expect(off.status).toBe(200);
      expect((await off.json()) as StandingQuery).toMatchObject({ armed: false, version: 2, plan: q.plan });
      await waitFor('disarm broadcast', () => lists.at(-1)?.find((x) => x.id === q.id)?.armed === false, 5_000, 50);

      const edited = await send('PATCH', `/api/queries/${q.id}`, { text: 'at least 2 cars in the loading bay' });
      expect(edited.status).toBe(200);
      const e = (await edited.json()) as StandingQuery;
      expect(e.plan).toMatchObject({ subject: { classes: ['car'] }, count: { op: '>=', n: 2 }, cameras: ['dock'] });
      expect(e.version).toBe(3);

      const badEdit = await send('PATCH', `/api/queries/${q.id}`, { text: 'flying saucer' });
      expect(badEdit.status).toBe(400);
      expect(((await badEdit.json()) as QueryRejection).unknownTerms.length).toBeGreaterThan(0);
      expect(((await (await send('GET', `/api/queries/${q.id}`)).json()) as StandingQuery).version).toBe(3);

      expect((await send('DELETE', `/api/queries/${q.id}`)).status).toBe(204);
      expect((await send('DELETE', `/api/queries/${q.id}`)).status).toBe(404);
      expect((await send('GET', `/api/queries/${q.id}`)).status).toBe(404);
      await waitFor('delete broadcast', () => lists.at(-1)?.length === 0, 5_000, 50);
    } finally {
      socket.close();
    }
  });

  it('refuses what it cannot understand or run, with the reason and suggestions, and stores nothing', async () => {
    const unknown = await send('POST', '/api/queries', { text: 'persn with a bakpack' });
    expect(unknown.status).toBe(400);
    const r = (await unknown.json()) as QueryRejection;
    expect(r.code).toBe('unknown-terms');
    expect(r.unknownTerms).toEqual(['persn', 'bakpack']);
    expect(r.suggestions.persn).toContain('person');
    expect(r.suggestions.bakpack).toContain('backpack');

    const refused = (await (await send('POST', '/api/queries', { text: 'person without a hard hat' })).json()) as QueryRejection;
    expect(refused.code).toBe('unsupported');
    expect(refused.error).toMatch(/hard hat/i);

    const long = (await (await send('POST', '/api/queries', { text: 'person '.repeat(60) })).json()) as QueryRejection;
    expect(long.code).toBe('too-long');

    const fields = await send('POST', '/api/queries', { text: '', severity: 'apocalyptic', cameras: 'dock' });
    expect(fields.status).toBe(400);
    const f = (await fields.json()) as ApiError;
    expect(f.details).toEqual(expect.arrayContaining([expect.stringMatching(/^text:/), expect.stringMatching(/^severity:/), expect.stringMatching(/^cameras:/)]));

    const noCam = (await (await send('POST', '/api/queries', { text: 'person', cameras: ['mars'] })).json()) as ApiError;
    expect(noCam.details).toEqual(['cameras: no camera "mars"']);
    const clash = (await (await send('POST', '/api/queries', { text: 'person on the lobby camera', cameras: ['dock'] })).json()) as ApiError;
    expect(clash.details?.[0]).toMatch(/^cameras:/);

    expect((await send('POST', '/api/queries', 'text=person', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await send('POST', '/api/queries', '{"text": ')).status).toBe(400);
    expect((await send('POST', '/api/queries', { text: 'x'.repeat(70_000) })).status).toBe(413);
    expect((await send('PATCH', '/api/queries/q-nothere', { armed: true })).status).toBe(404);
    expect((await send('PATCH', '/api/queries/q-nothere', {})).status).toBe(400);
    expect((await send('GET', '/api/queries/..%2Fetc')).status).toBe(404);
    expect(await (await send('GET', '/api/queries')).json()).toEqual([]);
  });

  it('backtests a disarmed query over the stored scene of the last hour and fires nothing', async () => {
    const q = (await (await send('POST', '/api/queries', { text: 'fewer than 2 people on the lobby camera', armed: false })).json()) as StandingQuery;
    expect(q.armed).toBe(false);
    // The scene stage stores every analysed frame; wait until the lobby has a few.
    await waitFor('stored lobby scene', async () => (await t.runtime.ports.store.scene.frames({ from: 0, to: Date.now() + 1, cameras: ['lobby'] })).length >= 4, 30_000);
    const res = await send('POST', `/api/queries/${q.id}/backtest`);
    expect(res.status).toBe(200);
    const b = (await res.json()) as BacktestResult;
    expect(b.frames).toBeGreaterThanOrEqual(4);
    expect(b.cameras).toEqual(['lobby']);
    expect(b.hits.length).toBeGreaterThanOrEqual(1);
    expect(b.hits[0]).toMatchObject({ camera: 'lobby', kind: 'count', count: 0 });
    expect(b.to - b.from).toBe(3600_000);
    expect(await (await send('GET', `/api/alerts?query=${q.id}`)).json()).toEqual([]);

    const backwards = await send('POST', `/api/queries/${q.id}/backtest`, { from: 2000, to: 1000 });
    expect(backwards.status).toBe(400);
    const tooLong = await send('POST', `/api/queries/${q.id}/backtest`, { from: 0, to: 30 * 86_400_000 });
    expect(((await tooLong.json()) as ApiError).details?.[0]).toMatch(/^to: the range may span at most/);
    expect((await send('POST', '/api/queries/q-none/backtest')).status).toBe(404);
  });
});

describe('tracks API', () => {
  it('lists a camera\'s stored tracks newest first, validates the limit, and 404s an unknown camera', async () => {
    const store = t.runtime.ports.store;
    const now = Date.now();
    const track = { id: 'dock:test:1', camera: 'dock', label: 'person', box: { x: 1, y: 2, w: 3, h: 4 }, score: 0.9, firstSeen: now - 5000, lastSeen: now, hits: 9, misses: 0, age: 5000, path: [], velocity: { x: 0, y: 0 }, speed: 0, dwell: { 'Loading Bay': 4000 }, zones: ['Loading Bay'], state: 'confirmed' as const };
    await store.scene.upsertTracks([{ track, ended: true }]);
    const res = await send('GET', '/api/cameras/dock/tracks?limit=10');
    expect(res.status).toBe(200);
    const list = (await res.json()) as { id: string; ended: boolean; dwell: Record<string, number> }[];
    expect(list.find((x) => x.id === 'dock:test:1')).toMatchObject({ ended: true, dwell: { 'Loading Bay': 4000 } });
    expect((await send('GET', '/api/cameras/dock/tracks?limit=0')).status).toBe(400);
    expect((await send('GET', '/api/cameras/nope/tracks')).status).toBe(404);
  });
});

describe('alerts and webhooks API', () => {
  it('lists alerts with filters, validates them, and answers unknown alerts with 404', async () => {
    expect((await send('GET', '/api/alerts?limit=0')).status).toBe(400);
    expect((await send('GET', '/api/alerts?since=yesterday')).status).toBe(400);
    expect(await (await send('GET', '/api/alerts?camera=dock&limit=5')).json()).toEqual([]);
    expect((await send('GET', '/api/alerts/al_0000')).status).toBe(404);
    expect((await send('GET', '/api/alerts/al_0000/snapshot.jpg')).status).toBe(404);
    expect((await send('POST', '/api/alerts/al_0000/ack')).status).toBe(404);
  });

  it('registers a webhook (secret shown once), lists it without the secret, validates the URL and removes it', async () => {
    const bad = await send('POST', '/api/webhooks', { url: 'ftp://example.org/x', secret: 'short' });
    expect(bad.status).toBe(400);
    const details = ((await bad.json()) as ApiError).details ?? [];
    expect(details).toEqual(expect.arrayContaining([expect.stringMatching(/^url:/), expect.stringMatching(/^secret:/)]));
    expect((await send('POST', '/api/webhooks', { url: 'http://user:pw@127.0.0.1/x' })).status).toBe(400);

    const res = await send('POST', '/api/webhooks', { url: 'http://127.0.0.1:9/hook', cameras: ['dock'] });
    expect(res.status).toBe(201);
    const created = (await res.json()) as Webhook & { secret: string };
    expect(created.secret.length).toBeGreaterThanOrEqual(16);
    const list = (await (await send('GET', '/api/webhooks')).json()) as Webhook[];
    expect(list).toEqual([{ id: created.id, url: 'http://127.0.0.1:9/hook', cameras: ['dock'], queries: null, createdAt: created.createdAt }]);
    expect(JSON.stringify(list)).not.toContain(created.secret);
    expect((await send('DELETE', `/api/webhooks/${created.id}`)).status).toBe(204);
    expect((await send('DELETE', `/api/webhooks/${created.id}`)).status).toBe(404);
  });
});
