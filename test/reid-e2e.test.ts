import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, Identity, ReidLink, ServerToClientEvents, TopologyEdge } from '@chronotrace/contracts';
import { startTestRuntime, waitFor, type TestRuntime } from './support/runtime';
import { measureReidSplit, type ReidSplitFigures } from './support/reid-split';

/*
 * Cross-camera re-identification end to end (embedded): vtest.avi split into two cameras that overlap
 * in the middle, the second 40 s later, uploaded and processed like any video; the re-ID stage links
 * tracks between them, each link reaches the wall as a handoff, and the identity API follows the
 * person across both cameras. Precision and recall against the split's geometry are measured (and
 * printed); the bench reports them.
 */
describe('re-identification across cameras', () => {
  let t: TestRuntime;
  let socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  const handoffs: ReidLink[] = [];
  let figures: ReidSplitFigures;

  beforeAll(async () => {
    t = await startTestRuntime([], { UPLOAD_FPS: '5', RECORDING: 'off' });
    socket = io(t.url, { transports: ['websocket'] });
    socket.on('handoff', (l) => handoffs.push(l));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    figures = await measureReidSplit(t.runtime);
    process.stdout.write(`re-ID on the vtest split: ${JSON.stringify({ ...figures, sample: undefined, how: undefined })}\n`);
  }, 240_000);
  afterAll(async () => {
    socket?.close();
    await t?.close();
  });

  it('links tracks from the first camera to the second, tells the wall, and follows an identity across both', async () => {
    expect(figures.tracks.A).toBeGreaterThan(10);
    expect(figures.tracks.B).toBeGreaterThan(10);
    expect(figures.linkable).toBeGreaterThan(5);
    expect(figures.links).toBeGreaterThan(0);
    expect(figures.precision).toBeGreaterThanOrEqual(0);
    const links = await t.runtime.ports.store.reid.recent(0);
    const l = links.find((x) => x.fromCamera === figures.cameras.A && x.toCamera === figures.cameras.B)!;
    // Every stored link reached the wall as a handoff.
    await waitFor('the handoffs on the wall', () => links.every((x) => handoffs.some((h) => h.to === x.to)) || undefined, 10_000, 100);
    expect(l.confidence).toBeGreaterThanOrEqual(0.5);
    expect(l.transitSeconds).toBeGreaterThan(0);
    // Either track names the identity.
    for (const id of [l.from, l.to]) {
      const r = await fetch(`${t.url}/api/identities/${encodeURIComponent(id)}`);
      expect(r.status).toBe(200);
      const identity = (await r.json()) as Identity;
      expect(identity.id).toBe(l.identity);
      expect(identity.tracks.map((x) => x.trackId)).toEqual(expect.arrayContaining([l.from, l.to]));
      const i = identity.path.indexOf(figures.cameras.A);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(identity.path.slice(i)).toContain(figures.cameras.B);
      const from = identity.tracks.find((x) => x.trackId === l.from)!;
      const to = identity.tracks.find((x) => x.trackId === l.to)!;
      expect(from.lastSeen).toBeLessThanOrEqual(to.firstSeen);
      expect(to.thumbnail?.crop).toMatch(/^\/api\/tracks\/.+\/thumbnail\.jpg\?kind=crop$/);
    }
    expect((await fetch(`${t.url}/api/identities/nobody%3A1`)).status).toBe(404);
    expect((await fetch(`${t.url}/api/identities/${'x'.repeat(300)}`)).status).toBe(400);
    const topo = (await (await fetch(`${t.url}/api/reid/topology`)).json()) as TopologyEdge[];
    expect(topo).toEqual(expect.arrayContaining([expect.objectContaining({ from: figures.cameras.A, to: figures.cameras.B })]));
    expect((await fetch(`${t.url}/api/reid/topology?days=0`)).status).toBe(400);
  }, 60_000);
});
