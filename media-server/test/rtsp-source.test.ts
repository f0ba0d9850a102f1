import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cameraSchema, type CameraHealth, type FrameMeta } from '@chronotrace/contracts';
import { InProcessBus } from '@chronotrace/platform';
import installer from '@ffmpeg-installer/ffmpeg';
import { probeFfmpeg } from '../src/ffmpeg-binary';
import type { SourceFrame } from '../src/frame-source';
import { IngestService } from '../src/ingest-service';
import { RtspSource } from '../src/rtsp-source';
import { startRtspServer, type RtspTestServer } from './fixtures/rtsp-server';
import { waitFor } from './fixtures/wait';


describe('RTSP camera against a real RTSP server on loopback (TCP)', () => {
  let server: RtspTestServer;
  let bus: InProcessBus;
  let ingest: IngestService;
  const frames: FrameMeta[] = [];
  const health: CameraHealth[] = [];

  beforeAll(async () => {
    server = await startRtspServer();
    bus = new InProcessBus();
    await bus.consume('frames.raw', { durable: 'rtsp-frames' }, async (messages) => {
      for (const m of messages) {
        frames.push(m.envelope.meta);
        m.ack();
      }
    });
    await bus.consume('health', { durable: 'rtsp-health' }, async (messages) => {
      for (const m of messages) {
        health.push(m.envelope.meta);
        m.ack();
      }
    });
    // Short backoff so recovery tests stay quick; the defaults are covered by the unit tests.
    ingest = new IngestService({ bus, supervisor: { backoff: { initialMs: 250, maxMs: 1000 } } });
    ingest.addCamera(cameraSchema.parse({ id: 'door', name: 'Door', source: server.url, fps: 5, width: 320 }));
  });

  afterAll(async () => {
    await ingest?.close();
    await bus?.close();
    await server?.stop();
  });

  it('goes live and publishes 320×240 frames pulled over RTSP/TCP', async () => {
    await waitFor(() => ingest.health('door')?.state === 'live', 10_000, 'door live');
    await waitFor(() => frames.length >= 3, 5000, '3 frames');
    expect(frames[0]).toMatchObject({ camera: 'door', width: 320, height: 240 });
    expect(ingest.camera('door')!.toJSON().source?.kind).toBe('rtsp');
  });

  it('pulls the same stream with the bundled 2018 ffmpeg (-stimeout)', async () => {
    const bundled = await probeFfmpeg(installer.path, 'bundled');
    const source = new RtspSource({ camera: 'door-bundled', fps: 5, width: 160, url: server.url, ffmpeg: bundled });
    try {
      const frame = await new Promise<SourceFrame>((resolve, reject) => {
        source.once('frame', resolve);
        source.once('exit', (e) => reject(new Error(e.reason)));
        void source.start();
      });
      expect([frame.width, frame.height]).toEqual([160, 120]);
    } finally {
      await source.close();
    }
  });

  it("comes back live within 10 s after its ffmpeg process is killed", async () => {
    const supervisor = ingest.camera('door')!;
    const pid = await waitFor(() => supervisor.sourcePid, 5000, 'a running ffmpeg');
    const restartsBefore = supervisor.health().restarts;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => health.some((h) => h.camera === 'door' && h.state === 'down' && /SIGKILL/.test(h.lastError ?? '')), 5000, 'down after the kill');
    const t0 = Date.now();
    await waitFor(() => supervisor.state === 'live' && supervisor.sourcePid !== pid, 10_000, 'live again');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(supervisor.health().restarts).toBeGreaterThanOrEqual(restartsBefore + 1);
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('goes down when the RTSP server dies and recovers when it comes back on the same port', async () => {
    const supervisor = ingest.camera('door')!;
    await waitFor(() => supervisor.state === 'live', 10_000, 'live before the outage');
    const restartsBefore = supervisor.health().restarts;
    const port = server.port;
    await server.stop();
    await waitFor(() => supervisor.state === 'down' || supervisor.state === 'stalled', 8000, 'down or stalled during the outage');
    await waitFor(() => /Connection refused/.test(supervisor.health().lastError ?? ''), 5000, 'a connection error while the server is away');
    server = await startRtspServer(port);
    const t0 = Date.now();
    await waitFor(() => supervisor.state === 'live', 10_000, 'live after the server is back');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(supervisor.health().restarts).toBeGreaterThan(restartsBefore);
    const n = frames.length;
    await waitFor(() => frames.length > n + 2, 5000, 'frames after recovery');
    expect(new Set(frames.map((f) => f.frameId)).size).toBe(frames.length);
  });
});
