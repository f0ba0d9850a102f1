/**
 * The wall's `watch` command on a real embedded runtime and real Socket.io clients: the last command
 * wins however fast they come, and one client flooding it neither starves the others nor the server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, RedactedFrameMeta, ServerToClientEvents } from '@chronotrace/contracts';
import { startTestRuntime, waitFor, type TestRuntime } from '../../test/support/runtime';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime([
    { id: 'pattern', name: 'Pattern', location: 'Lab', source: 'testsrc:testsrc2', fps: 4, width: 160 },
    { id: 'bars', name: 'Bars', location: 'Lab', source: 'testsrc:smptebars', fps: 4, width: 160 },
  ]);
}, 60_000);
afterAll(() => t?.close());

/** A connected client that records the frames it gets. */
async function client(): Promise<{ socket: Client; frames: { at: number; meta: RedactedFrameMeta }[] }> {
  const socket: Client = io(t.url, { transports: ['websocket'], forceNew: true });
  const frames: { at: number; meta: RedactedFrameMeta }[] = [];
  socket.on('frame', (f) => frames.push({ at: Date.now(), meta: f.meta }));
  await waitFor('socket connected', () => socket.connected, 10_000, 20);
  return { socket, frames };
}

/** Waits until the server received `n` more watch commands than `before` and applied them all. */
async function applied(before: number, n: number): Promise<void> {
  await waitFor(`${n} watch commands applied`, () => {
    const w = t.runtime.web.wall.toJSON();
    return w.watchEvents - before >= n && w.watchPending === 0;
  }, 20_000, 20);
}

/** Waits for a frame of `camera` that was captured after `since`. */
const frameAfter = (frames: { meta: RedactedFrameMeta }[], camera: string, since: number): Promise<RedactedFrameMeta> =>
  waitFor(`a ${camera} frame captured after ${since}`, () => frames.find((f) => f.meta.camera === camera && f.meta.capturedAt > since)?.meta, 20_000, 20);

describe('LiveWall watch', () => {
  it('applies the last command when watch([]) is followed at once by watch(null) (a tab hidden and shown), every time', async () => {
    const c = await client();
    try {
      await frameAfter(c.frames, 'pattern', 0);
      for (let i = 0; i < 3; i++) {
        c.socket.emit('watch', []);
        c.socket.emit('watch', null);
        const since = Date.now();
        await frameAfter(c.frames, 'pattern', since);
        await frameAfter(c.frames, 'bars', since);
      }
      // And a narrowing command sticks: of the frames captured once it is applied, only that camera's arrive.
      const events = t.runtime.web.wall.toJSON().watchEvents;
      c.socket.emit('watch', null);
      c.socket.emit('watch', ['bars']);
      await applied(events, 2);
      const since = Date.now();
      await frameAfter(c.frames, 'bars', since);
      await frameAfter(c.frames, 'bars', Date.now());
      expect(c.frames.filter((f) => f.meta.camera === 'pattern' && f.meta.capturedAt > since)).toEqual([]);
    } finally {
      c.socket.close();
    }
  }, 60_000);

  it('coalesces a flood of watch commands from one client: the others keep their frames and the server applies few', async () => {
    const flooder = await client();
    const viewer = await client();
    try {
      await frameAfter(viewer.frames, 'pattern', 0);
      const before = t.runtime.web.wall.toJSON();
      for (let i = 0; i < 10_000; i++) flooder.socket.emit('watch', i % 2 === 0 ? ['pattern'] : ['bars', 'pattern']);
      flooder.socket.emit('watch', ['bars']);
      const since = Date.now();
      await frameAfter(viewer.frames, 'pattern', since);
      await frameAfter(viewer.frames, 'bars', since);
      await frameAfter(flooder.frames, 'bars', since);
      await applied(before.watchEvents, 10_001);
      const after = t.runtime.web.wall.toJSON();
      expect(after.watchApplied - before.watchApplied).toBeLessThan(1_000);
      // The flooder's last command won: of the frames captured from now on it gets bars only.
      const settled = Date.now();
      await frameAfter(flooder.frames, 'bars', settled);
      await frameAfter(viewer.frames, 'pattern', settled);
      expect(flooder.frames.filter((f) => f.meta.camera === 'pattern' && f.meta.capturedAt > settled)).toEqual([]);
    } finally {
      flooder.socket.close();
      viewer.socket.close();
    }
  }, 60_000);

  it('sends metadata without the JPEG for cameras the client plays as video, and JPEGs again once it stops', async () => {
    const c = await client();
    const metas: { at: number; meta: RedactedFrameMeta }[] = [];
    c.socket.on('frameMeta', (meta) => metas.push({ at: Date.now(), meta }));
    try {
      await frameAfter(c.frames, 'pattern', 0);
      const events = t.runtime.web.wall.toJSON().watchEvents;
      c.socket.emit('video', ['pattern']);
      await applied(events, 1);
      const since = Date.now();
      // pattern: metadata only; bars: JPEG frames as before.
      await frameAfter(metas, 'pattern', since);
      await frameAfter(c.frames, 'bars', since);
      const later = Date.now();
      await frameAfter(metas, 'pattern', later);
      expect(c.frames.filter((f) => f.meta.camera === 'pattern' && f.at > since + 100 && f.meta.capturedAt > since)).toEqual([]);
      expect(metas.every((m) => m.meta.camera === 'pattern')).toBe(true);
      // A hidden tab (watch []) gets neither.
      const e2 = t.runtime.web.wall.toJSON().watchEvents;
      c.socket.emit('watch', []);
      await applied(e2, 1);
      const hidden = Date.now();
      // Another client watching everything sees a newer pattern frame: the same push would have reached us.
      const other = await client();
      try {
        await frameAfter(other.frames, 'pattern', hidden);
        await frameAfter(other.frames, 'pattern', Date.now());
      } finally {
        other.socket.close();
      }
      // Back on JPEGs.
      const e3 = t.runtime.web.wall.toJSON().watchEvents;
      c.socket.emit('watch', null);
      c.socket.emit('video', []);
      await applied(e3, 2);
      const back = Date.now();
      await frameAfter(c.frames, 'pattern', back);
      expect(metas.filter((m) => m.at > hidden && m.meta.capturedAt > hidden && m.at < back)).toEqual([]);
    } finally {
      c.socket.close();
    }
  });
});
