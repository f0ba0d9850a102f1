import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveFfmpeg, probeFfmpeg } from '../src/ffmpeg-binary';
import type { FfmpegFrameSource } from '../src/ffmpeg-frame-source';
import { FileSource } from '../src/file-source';
import type { SourceExit, SourceFrame } from '../src/frame-source';
import { RtspSource } from '../src/rtsp-source';
import { TestPatternSource } from '../src/test-pattern-source';
import { ffmpegRun, tempDir, VTEST_AVI } from './fixtures/media';
import { freePort } from './fixtures/rtsp-server';
import installer from '@ffmpeg-installer/ffmpeg';

/** Runs a source until it has given `count` frames or exited, then closes it. */
async function collect(source: FfmpegFrameSource, count: number, timeoutMs = 10_000): Promise<{ frames: SourceFrame[]; exit: SourceExit | null }> {
  const frames: SourceFrame[] = [];
  let exit: SourceExit | null = null;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    source.on('frame', (f) => {
      frames.push(f);
      if (frames.length >= count) {
        clearTimeout(timer);
        resolve();
      }
    });
    source.on('exit', (e) => {
      exit = e;
      clearTimeout(timer);
      resolve();
    });
    void source.start();
  });
  await source.close();
  return { frames, exit };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('resolveFfmpeg', () => {
  it('prefers the system ffmpeg, reports its version and caches it', async () => {
    const a = await resolveFfmpeg();
    expect(a.origin).toBe('system');
    expect(a.path).toBe('/usr/bin/ffmpeg');
    expect(a.version).toMatch(/^\d+\.\d+/);
    expect(a.rtspTimeoutOption).toBe('timeout');
    expect(await resolveFfmpeg()).toBe(a);
  });

  it('knows the bundled 2018 build names its RTSP socket timeout -stimeout', async () => {
    const bundled = await probeFfmpeg(installer.path, 'bundled');
    expect(bundled.rtspTimeoutOption).toBe('stimeout');
    const rtsp = new RtspSource({ camera: 'c', fps: 2, width: 320, url: 'rtsp://127.0.0.1/x', timeoutMs: 3000 });
    expect(rtsp.args(bundled)).toEqual(expect.arrayContaining(['-stimeout', '3000000', '-rtsp_transport', 'tcp', '-fflags', 'nobuffer']));
  });
});

describe('ffmpeg frame sources (real ffmpeg)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let still: string;
  let clip: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    still = join(dir, 'still.png');
    clip = join(dir, 'clip.avi');
    await Promise.all([
      ffmpegRun(['-f', 'lavfi', '-i', 'testsrc2=size=400x300', '-frames:v', '1', still]),
      // 1 s of vtest.avi, so a 2.5 s run must loop it.
      ffmpegRun(['-i', VTEST_AVI, '-t', '1', '-c:v', 'mjpeg', '-q:v', '5', clip]),
    ]);
  });

  afterAll(async () => {
    await cleanup();
  });

  it('TestPatternSource at 5 fps gives differing JPEGs scaled to the camera width', async () => {
    const t0 = Date.now();
    const { frames, exit } = await collect(new TestPatternSource({ camera: 'tp', fps: 5, width: 320 }), 6);
    expect(exit?.requested ?? true).toBe(true);
    expect(frames.length).toBeGreaterThanOrEqual(6);
    for (const f of frames) {
      expect([f.width, f.height]).toEqual([320, 240]);
      expect(f.jpeg[0]).toBe(0xff);
      expect(f.jpeg[1]).toBe(0xd8);
    }
    expect(frames.slice(0, 6).map((f) => f.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(new Set(frames.map((f) => f.jpeg.toString('base64'))).size).toBe(frames.length);
    // Real time: frame 5 arrives about 1 s after frame 0.
    const span = frames[5]!.capturedAt - frames[0]!.capturedAt;
    expect(span).toBeGreaterThan(700);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('FileSource loops a video: more frames than the clip holds, even height, aspect kept', async () => {
    // 1 s clip at 3 fps gives 3 frames; 9 frames need 3 passes.
    const { frames, exit } = await collect(new FileSource({ camera: 'fv', fps: 3, width: 385 - 1, path: clip }), 9);
    expect(exit?.requested ?? true).toBe(true);
    expect(frames.length).toBeGreaterThanOrEqual(9);
    for (const f of frames) expect([f.width, f.height]).toEqual([384, 288]);
  });

  it('FileSource plays vtest.avi at the camera width', async () => {
    const { frames } = await collect(new FileSource({ camera: 'fv', fps: 4, width: 250, path: VTEST_AVI }), 2);
    expect(frames.length).toBeGreaterThanOrEqual(2);
    // 768×576 → 250 × 187.5 → even height 188.
    expect([frames[0]!.width, frames[0]!.height]).toEqual([250, 188]);
  });

  it('FileSource repeats a still image at the camera fps', async () => {
    const { frames } = await collect(new FileSource({ camera: 'fs', fps: 5, width: 200, path: still }), 5);
    expect(frames.length).toBeGreaterThanOrEqual(5);
    for (const f of frames) expect([f.width, f.height]).toEqual([200, 150]);
  });

  it('exits with "No such file" for a missing file', async () => {
    const { frames, exit } = await collect(new FileSource({ camera: 'fm', fps: 2, width: 200, path: join(dir, 'missing.mp4') }), 1);
    expect(frames.length).toBeGreaterThanOrEqual(0);
    expect(exit?.requested).toBe(false);
    expect(exit?.reason).toMatch(/No such file/);
  });

  it('exits with "Connection refused" for an RTSP port nobody listens on', async () => {
    const port = await freePort();
    const { exit } = await collect(new RtspSource({ camera: 'r', fps: 2, width: 320, url: `rtsp://user:secret@127.0.0.1:${port}/x` }), 1);
    expect(exit?.reason).toMatch(/Connection refused/);
    expect(exit?.reason).not.toContain('secret');
  });

  it('close() is idempotent and leaves no ffmpeg process behind', async () => {
    const source = new TestPatternSource({ camera: 'tc', fps: 5, width: 160 });
    const first = new Promise<void>((resolve) => source.once('frame', () => resolve()));
    await source.start();
    await first;
    const pid = source.pid!;
    expect(isAlive(pid)).toBe(true);
    const exits: SourceExit[] = [];
    source.on('exit', (e) => exits.push(e));
    await Promise.all([source.close(), source.close()]);
    await source.close();
    expect(isAlive(pid)).toBe(false);
    expect(source.pid).toBeUndefined();
    expect(exits).toHaveLength(1);
    expect(exits[0]!.requested).toBe(true);
  });

  it('reports an unexpected kill with its signal', async () => {
    const source = new TestPatternSource({ camera: 'tk', fps: 5, width: 160 });
    const first = new Promise<void>((resolve) => source.once('frame', () => resolve()));
    const exited = new Promise<SourceExit>((resolve) => source.once('exit', resolve));
    await source.start();
    await first;
    process.kill(source.pid!, 'SIGKILL');
    const exit = await exited;
    expect(exit.requested).toBe(false);
    expect(exit.signal).toBe('SIGKILL');
    expect(exit.reason).toMatch(/killed by SIGKILL/);
    await source.close();
  });
});
