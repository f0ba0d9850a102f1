import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { Alert, BacktestResult, ClientToServerEvents, ServerToClientEvents, StandingQuery } from '@chronotrace/contracts';
import { startTestRuntime, waitFor, type TestRuntime } from './support/runtime';

const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';

/*
 * An anomaly rule end to end (embedded): vtest.avi's pedestrians walk across a line drawn down the
 * middle of the picture; "people crossing the mid line" compiles to a line rule, fires over Socket.io
 * with kind 'line' and the crossing track's foot at the line, and the same rule backtests over the
 * stored scene.
 */
describe('anomaly rules through the API', () => {
  let t: TestRuntime;
  let socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  const alerts: Alert[] = [];

  beforeAll(async () => {
    t = await startTestRuntime([{ id: 'street', name: 'Street', source: VTEST, fps: 5, analysisFps: 2, width: 480, lines: [{ name: 'mid', from: [0.5, 0], to: [0.5, 1] }] }]);
    socket = io(t.url, { transports: ['websocket'] });
    socket.on('alert', (a) => alerts.push(a));
    await new Promise<void>((r) => socket.once('connect', () => r()));
  }, 90_000);
  afterAll(async () => {
    socket?.close();
    await t?.close();
  });

  it('compiles a line rule, fires on a crossing at the line, and backtests the same rule', async () => {
    const res = await fetch(`${t.url}/api/queries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'people crossing the mid line', severity: 'warning' }) });
    expect(res.status).toBe(201);
    const q = (await res.json()) as StandingQuery;
    expect(q.plan.anomaly).toEqual({ type: 'line', line: 'mid' });
    expect(q.explanation).toMatch(/crosses line "mid" on any camera/);
    const a = await waitFor('a line-crossing alert', () => alerts.find((x) => x.queryId === q.id), 120_000, 200);
    expect(a).toMatchObject({ kind: 'line', camera: 'street', anomaly: { type: 'line', line: 'mid' } });
    expect(['in', 'out']).toContain(a.anomaly!.direction);
    expect(a.reason).toMatch(/crossed line "mid" (inbound|outbound)/);
    // The crossing track's foot point is at the line (the middle of the frame), not elsewhere.
    const box = a.tracks[0]!.box;
    expect(Math.abs(box.x + box.w / 2 - a.frame.width / 2)).toBeLessThan(a.frame.width * 0.15);
    expect(a.models.map((m) => m.name)).toContain('anomaly-engine');
    // Stored like any alert.
    const stored = (await (await fetch(`${t.url}/api/alerts?query=${q.id}`)).json()) as Alert[];
    expect(stored.map((x) => x.id)).toContain(a.id);
    // The same rule over the stored scene finds the crossing that fired.
    const bt = await waitFor('a backtest with the crossing', async () => {
      const r = await fetch(`${t.url}/api/queries/${q.id}/backtest`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: a.capturedAt - 60_000, to: a.capturedAt + 1 }) });
      const b = (await r.json()) as BacktestResult;
      return b.hits.some((h) => h.frameId === a.frameId) ? b : undefined;
    }, 30_000, 500);
    const hit = bt.hits.find((h) => h.frameId === a.frameId)!;
    expect(hit).toMatchObject({ kind: 'line', anomaly: { line: 'mid', direction: a.anomaly!.direction } });
    // Search finds tracks, not anomalies: it says so.
    const s = await fetch(`${t.url}/api/search?q=${encodeURIComponent('people crossing the mid line')}`);
    expect(s.status).toBe(400);
    expect(((await s.json()) as { error: string }).error).toMatch(/search finds tracks, not anomalies/);
  }, 180_000);
});
