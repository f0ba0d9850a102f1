import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { ApiError, CameraView, ClientToServerEvents, ServerToClientEvents, SystemHealth, WallFrame } from '@chronotrace/contracts';
import { startTestRuntime, waitFor, type TestRuntime } from '../../test/support/runtime';

let t: TestRuntime;

beforeAll(async () => {
  t = await startTestRuntime([{ id: 'pattern', name: 'Pattern', location: 'Lab', source: 'testsrc:testsrc2', fps: 4, width: 320 }]);
});
afterAll(async () => {
  await t?.close();
});

const post = (path: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(`${t.url}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('REST API (embedded mode)', () => {
  it('reports health with per-component state', async () => {
    const res = await fetch(`${t.url}/api/health`);
    expect(res.status).toBe(200);
    const h = (await res.json()) as SystemHealth;
    expect(h.mode).toBe('embedded');
    expect(h.components.bus?.state).toBe('ok');
    expect(h.components.store?.state).toBe('ok');
    expect(h.components.privacy?.state).toBe('ok');
    expect(h.cameras.map((c) => c.camera)).toEqual(['pattern']);
  });

  it('lists the config camera and it goes live', async () => {
    const cam = await waitFor('pattern live', async () => {
      const list = (await (await fetch(`${t.url}/api/cameras`)).json()) as CameraView[];
      const c = list.find((x) => x.id === 'pattern');
      return c?.health.state === 'live' && c.health.fps > 0 ? c : undefined;
    });
    expect(cam).toMatchObject({ name: 'Pattern', location: 'Lab', origin: 'config', fps: 4, width: 320 });
    expect(cam.health.fps).toBeGreaterThan(0);
  });

  it('serves the latest redacted frame as a JPEG', async () => {
    const res = await waitFor('snapshot', async () => {
      const r = await fetch(`${t.url}/api/cameras/pattern/snapshot.jpg`);
      return r.status === 200 ? r : undefined;
    });
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
    expect(Number(res.headers.get('x-captured-at'))).toBeGreaterThan(Date.now() - 60_000);
  });

  it('answers an unknown camera with 404 and a JSON error', async () => {
    for (const path of ['/api/cameras/nope/snapshot.jpg', '/api/cameras/nope', '/api/cameras/..%2F..%2Fetc/snapshot.jpg']) {
      const res = await fetch(`${t.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(((await res.json()) as ApiError).error).toMatch(/no camera/);
    }
    expect((await fetch(`${t.url}/api/nothing-here`)).status).toBe(404);
    expect((await fetch(`${t.url}/api/health`, { method: 'DELETE' })).status).toBe(405);
  });

  it('rejects a bad camera with 400 naming every bad field', async () => {
    const res = await post('/api/cameras', { id: 'Bad Id!', name: '', source: 'ftp://x/y', fps: 500, extra: 1 });
    expect(res.status).toBe(400);
    const body = (await res.json()) as ApiError;
    const details = body.details!.join('\n');
    expect(details).toMatch(/^id:/m);
    expect(details).toMatch(/^name:/m);
    expect(details).toMatch(/^source: unsupported source scheme/m);
    expect(details).toMatch(/^fps:/m);
    expect(details).toMatch(/extra/);
  });

  it('rejects an unknown source scheme, bodies that are not JSON, empty or oversized', async () => {
    const bad = await post('/api/cameras', { id: 'w', name: 'W', source: 'whip://phone' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ApiError).details!.join()).toMatch(/webrtc \(WHIP\)|unsupported source scheme/);
    expect((await post('/api/cameras', '{"id":', { 'content-type': 'application/json' })).status).toBe(400);
    expect((await post('/api/cameras', 'id=x', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await post('/api/cameras', '', { 'content-type': 'application/json' })).status).toBe(400);
    const big = await post('/api/cameras', { id: 'big', name: 'x'.repeat(200_000), source: 'testsrc:testsrc' });
    expect(big.status).toBe(413);
  });

  it('refuses a duplicate id with 409 and a config camera delete with 409', async () => {
    const dup = await post('/api/cameras', { id: 'pattern', name: 'Again', source: 'testsrc:smptebars' });
    expect(dup.status).toBe(409);
    expect(((await dup.json()) as ApiError).error).toMatch(/already exists/);
    const del = await fetch(`${t.url}/api/cameras/pattern`, { method: 'DELETE' });
    expect(del.status).toBe(409);
    expect(((await del.json()) as ApiError).error).toMatch(/streams config/);
  });

  it('adds a camera at run time, streams it to Socket.io clients, and removes it', async () => {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(t.url, { transports: ['websocket'], forceNew: true });
    const frames: WallFrame[] = [];
    const lists: CameraView[][] = [];
    socket.on('frame', (f) => frames.push(f));
    socket.on('cameras', (l) => lists.push(l));
    try {
      await waitFor('socket connected', () => socket.connected);
      const res = await post('/api/cameras', { id: 'bars', name: 'Bars', location: 'Dock', source: 'testsrc:smptebars', fps: 4, width: 320 });
      expect(res.status).toBe(201);
      const view = (await res.json()) as CameraView;
      expect(view).toMatchObject({ id: 'bars', origin: 'api' });
      await waitFor('cameras event with bars', () => lists.some((l) => l.some((c) => c.id === 'bars')));
      const f = await waitFor('a redacted frame of bars', () => frames.find((x) => x.meta.camera === 'bars'));
      expect(f.meta.redaction.models.length).toBeGreaterThan(0);
      expect(f.meta.width).toBe(320);
      expect(new Uint8Array(f.jpeg as ArrayBuffer)[0]).toBe(0xff);

      expect((await fetch(`${t.url}/api/cameras/bars`, { method: 'DELETE' })).status).toBe(204);
      expect((await fetch(`${t.url}/api/cameras/bars`)).status).toBe(404);
      await waitFor('cameras event without bars', () => lists.length > 0 && !lists.at(-1)!.some((c) => c.id === 'bars'));
      // Ingest stops the source: frames of bars stop arriving.
      await new Promise((r) => setTimeout(r, 1500));
      const count = frames.filter((x) => x.meta.camera === 'bars').length;
      await new Promise((r) => setTimeout(r, 2000));
      expect(frames.filter((x) => x.meta.camera === 'bars').length).toBe(count);
    } finally {
      socket.close();
    }
  });

  it('keeps running when a camera is unreachable, marking it down with the reason', async () => {
    const res = await post('/api/cameras', { id: 'dead', name: 'Dead', source: 'rtsp://127.0.0.1:1/nothing' });
    expect(res.status).toBe(201);
    const dead = await waitFor('dead camera down', async () => {
      const c = (await (await fetch(`${t.url}/api/cameras/dead`)).json()) as CameraView;
      return c.health.state === 'down' ? c : undefined;
    });
    expect(dead.health.lastError).toMatch(/refused|connect/i);
    // The store keeps the state changes, each once.
    const events = await waitFor('down recorded', async () => {
      const list = await t.runtime.ports.store.healthEvents.list('dead');
      return list.some((e) => e.state === 'down') ? list : undefined;
    });
    const states = events.map((e) => e.state);
    expect(states.every((s, i) => i === 0 || s !== states[i - 1])).toBe(true);
    const pattern = (await (await fetch(`${t.url}/api/cameras/pattern`)).json()) as CameraView;
    expect(pattern.health.state).toBe('live');
    const h = (await (await fetch(`${t.url}/api/health`)).json()) as SystemHealth;
    expect(h.status).toBe('degraded');
    expect((await fetch(`${t.url}/api/cameras/dead`, { method: 'DELETE' })).status).toBe(204);
  });
});
