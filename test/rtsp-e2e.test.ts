import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { CameraView, ClientToServerEvents, ServerToClientEvents, WallFrame } from '@chronotrace/contracts';
import { startRtspServer, type RtspTestServer } from '../media-server/test/fixtures/rtsp-server';
import { cameraState, startTestRuntime, waitFor, type TestRuntime } from './support/runtime';

let rtsp: RtspTestServer;
let t: TestRuntime;

beforeAll(async () => {
  rtsp = await startRtspServer();
  t = await startTestRuntime([{ id: 'yard', name: 'Yard', location: 'Loopback RTSP', source: rtsp.url, fps: 4, width: 320 }]);
});
afterAll(async () => {
  await t?.close();
  await rtsp?.stop();
});

describe('RTSP camera → privacy → wall', () => {
  it('pulls a real RTSP camera over TCP, redacts every frame and serves it on the wall API and Socket.io', async () => {
    const cam = await waitFor('RTSP camera live', async () => {
      const c = await cameraState(t.url, 'yard');
      return c?.health.state === 'live' ? c : undefined;
    }, 30_000);
    expect(cam.source).toBe(rtsp.url);

    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(t.url, { transports: ['websocket'], forceNew: true });
    const frames: WallFrame[] = [];
    socket.on('frame', (f) => frames.push(f));
    try {
      await waitFor('3 frames from the RTSP camera on the socket', () => frames.filter((f) => f.meta.camera === 'yard').length >= 3, 20_000);
    } finally {
      socket.close();
    }
    for (const f of frames) {
      expect(f.meta.redaction.redactedAt).toBeGreaterThanOrEqual(f.meta.capturedAt);
      expect(f.meta.redaction.models.map((m) => m.name).join(' ')).toMatch(/face/i);
      expect(f.meta.width).toBe(320);
    }
    // Latency from capture to the browser is bounded (one privacy pass plus transport).
    const last = frames.at(-1)!;
    expect(last.meta.redaction.redactedAt - last.meta.capturedAt).toBeLessThan(5_000);

    const snap = await fetch(`${t.url}/api/cameras/yard/snapshot.jpg`);
    expect(snap.status).toBe(200);
    expect(snap.headers.get('content-type')).toBe('image/jpeg');

    // Every frame that reached the wall has its redaction record in the store.
    const records = await t.runtime.ports.store.redactions.list('yard', 1000);
    const ids = new Set(records.map((r) => r.frameId));
    for (const f of frames) expect(ids.has(f.meta.frameId), f.meta.frameId).toBe(true);
  });

  it('marks the camera down when the RTSP server goes away and recovers when it is back', async () => {
    const port = rtsp.port;
    await rtsp.stop();
    const down = await waitFor('camera not live', async () => {
      const c = await cameraState(t.url, 'yard');
      return c && c.health.state !== 'live' ? c : undefined;
    }, 20_000);
    expect(['stalled', 'down']).toContain(down.health.state);
    rtsp = await startRtspServer(port);
    const back: CameraView = await waitFor('camera live again', async () => {
      const c = await cameraState(t.url, 'yard');
      return c?.health.state === 'live' ? c : undefined;
    }, 30_000);
    expect(back.health.restarts).toBeGreaterThanOrEqual(1);
  });
});
