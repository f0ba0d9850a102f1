import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cameraSchema, type CameraConfig, type CameraHealth, type FrameMeta } from '@chronotrace/contracts';
import { InProcessBus } from '@chronotrace/platform';
import { readJpegDimensions } from '../src/jpeg-dimensions';
import { IngestService } from '../src/ingest-service';
import { startIngest } from '../src/index';
import { freePort } from './fixtures/rtsp-server';
import { waitFor } from './fixtures/wait';

const camera = (c: Partial<CameraConfig> & Pick<CameraConfig, 'id' | 'source'>): CameraConfig => cameraSchema.parse({ name: c.id, ...c });


describe('IngestService on the in-process bus (real ffmpeg)', () => {
  let bus: InProcessBus;
  let ingest: IngestService | undefined;

  beforeEach(() => {
    bus = new InProcessBus();
  });

  afterEach(async () => {
    await ingest?.close();
    await bus.close();
  });

  it('publishes JPEG frames with FrameMeta to frames.raw, ids unique and msgId = frameId', async () => {
    const frames: { meta: FrameMeta; body: Uint8Array | undefined }[] = [];
    await bus.consume('frames.raw', { durable: 'test-frames', cameras: ['lobby'] }, async (messages) => {
      for (const m of messages) {
        frames.push({ meta: m.envelope.meta, body: m.envelope.body });
        m.ack();
      }
    });
    ingest = new IngestService({ bus });
    expect(ingest.addCamera(camera({ id: 'lobby', source: 'testsrc:testsrc2', fps: 5, width: 320 }))).toEqual({ ok: true });
    await waitFor(() => frames.length >= 5, 10_000, '5 frames');
    const { meta, body } = frames[0]!;
    expect(meta.camera).toBe('lobby');
    expect(meta.frameId).toMatch(/^lobby:\d{13}:0$/);
    expect([meta.width, meta.height]).toEqual([320, 240]);
    expect(readJpegDimensions(body!)).toEqual({ width: 320, height: 240 });
    expect(Math.abs(meta.capturedAt - Date.now())).toBeLessThan(5000);
    expect(new Set(frames.map((f) => f.meta.frameId)).size).toBe(frames.length);
    expect(frames.map((f) => f.meta.seq).slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
    expect(ingest.health('lobby')?.state).toBe('live');
    expect(ingest.toJSON().cameras.lobby?.published).toBeGreaterThanOrEqual(5);
  });

  it('marks an unreachable RTSP camera down with the reason while another camera stays live', async () => {
    const health: CameraHealth[] = [];
    await bus.consume('health', { durable: 'test-health' }, async (messages) => {
      for (const m of messages) {
        health.push(m.envelope.meta);
        m.ack();
      }
    });
    const port = await freePort();
    ingest = startIngest({
      bus,
      cameras: [
        camera({ id: 'gate', source: `rtsp://127.0.0.1:${port}/x`, fps: 2, width: 320 }),
        camera({ id: 'yard', source: 'testsrc:smptebars', fps: 5, width: 160 }),
        camera({ id: 'off', source: 'testsrc:testsrc', enabled: false }),
      ],
      healthIntervalMs: 500,
    });
    expect(ingest.list().map((c) => c.id).sort()).toEqual(['gate', 'yard']);
    const down = await waitFor(() => health.find((h) => h.camera === 'gate' && h.state === 'down'), 10_000, 'gate down');
    expect(down.lastError).toMatch(/Connection refused/);
    expect(down.skipped).toBe(0);
    expect(down.redactionFailures).toBe(0);
    await waitFor(() => (ingest!.health('gate')?.restarts ?? 0) >= 2, 10_000, 'two retries');
    expect(ingest.health('gate')?.state).toBe('down');
    expect(ingest.health('yard')?.state).toBe('live');
    // Periodic health (every 500 ms here) besides the changes.
    const yardLive = health.filter((h) => h.camera === 'yard' && h.state === 'live');
    expect(yardLive.length).toBeGreaterThanOrEqual(2);
    expect(yardLive[yardLive.length - 1]!.fps).toBeGreaterThan(2);
  });

  it('counts frames over the bus max payload and keeps running', async () => {
    const small = new InProcessBus({ maxPayloadBytes: 2000 });
    try {
      ingest = new IngestService({ bus: small });
      ingest.addCamera(camera({ id: 'big', source: 'testsrc:testsrc2', fps: 5, width: 320 }));
      await waitFor(() => (ingest!.toJSON().cameras.big?.tooLarge ?? 0) >= 3, 10_000, 'three too-large frames');
      expect(ingest.health('big')?.state).toBe('live');
      expect(ingest.toJSON().cameras.big?.published).toBe(0);
      expect(small.stats().rejectedTooLarge).toBeGreaterThanOrEqual(3);
    } finally {
      await ingest?.close();
      await small.close();
    }
  });

  it('refuses a duplicate id as a value, removes a camera, and drains on close', async () => {
    const health: CameraHealth[] = [];
    await bus.consume('health', { durable: 'test-health-2' }, async (messages) => {
      for (const m of messages) {
        health.push(m.envelope.meta);
        m.ack();
      }
    });
    ingest = new IngestService({ bus });
    const cfg = camera({ id: 'dup', source: 'testsrc:testsrc2', fps: 5, width: 160 });
    expect(ingest.addCamera(cfg)).toEqual({ ok: true });
    expect(ingest.addCamera(cfg)).toMatchObject({ ok: false, reason: 'duplicate' });
    ingest.addCamera(camera({ id: 'other', source: 'testsrc:testsrc2', fps: 5, width: 160 }));
    await waitFor(() => ingest!.health('dup')?.state === 'live', 10_000, 'dup live');
    const pid = ingest.camera('dup')!.sourcePid!;
    expect(await ingest.removeCamera('dup')).toBe(true);
    expect(await ingest.removeCamera('dup')).toBe(false);
    expect(ingest.health('dup')).toBeUndefined();
    expect(() => process.kill(pid, 0)).toThrow();
    await Promise.all([ingest.close(), ingest.close()]);
    expect(ingest.list()).toEqual([]);
    expect(ingest.toJSON().inFlight).toBe(0);
    expect(ingest.addCamera(cfg)).toMatchObject({ ok: false, reason: 'closed' });
    await waitFor(() => health.some((h) => h.camera === 'other' && h.state === 'stopped'), 2000, 'stopped health');
  });
});
