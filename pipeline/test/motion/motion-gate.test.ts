import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GreyImageError, MotionGate, MotionOptionsError, toGreySmall, type GreyImage } from '../../src/motion/index';

const W = 96;
const H = 72;

/** A textured background (a gradient with a checker), like a real scene rather than a flat grey. */
function scene(): Uint8Array {
  const data = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = 60 + x + ((x >> 3) + (y >> 3)) % 2 * 20;
  return data;
}

function frame(data: Uint8Array, source = { w: 768, h: 576 }): GreyImage {
  return { width: W, height: H, data, sourceWidth: source.w, sourceHeight: source.h };
}

/** The scene with a bright square of side `size` at (x, y) in small-image pixels. */
function withSquare(x: number, y: number, size = 8): GreyImage {
  const data = scene();
  for (let yy = y; yy < y + size; yy++) for (let xx = x; xx < x + size; xx++) data[yy * W + xx] = 250;
  return frame(data);
}

/** Deterministic noise so the test cannot pass or fail by luck. */
function noisy(base: Uint8Array, amplitude: number, seed: number): GreyImage {
  let s = seed >>> 0;
  const data = new Uint8Array(base.length);
  for (let i = 0; i < base.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    const n = Math.round(((s / 2 ** 32) * 2 - 1) * amplitude);
    data[i] = Math.max(0, Math.min(255, (base[i] ?? 0) + n));
  }
  return frame(data);
}

describe('MotionGate on synthesised frames', () => {
  it('reports the first frame as warm-up motion, then nothing for identical frames', () => {
    const gate = new MotionGate({ forceEveryMs: Number.POSITIVE_INFINITY });
    const first = gate.processFrame(frame(scene()), 0);
    expect(first).toMatchObject({ motion: true, runDetector: true, reason: 'warm-up' });
    for (let i = 1; i <= 5; i++) {
      const r = gate.processFrame(frame(scene()), i * 500);
      expect(r).toMatchObject({ motion: false, runDetector: false, reason: 'still', changedRatio: 0, regions: [] });
    }
    expect(gate.toJSON()).toMatchObject({ frames: 6, motionFrames: 1, skippedFrames: 5 });
    expect(gate.toJSON().skippedRatio).toBeCloseTo(5 / 6);
  });

  it('finds a moving square and reports a region around it in frame pixels', () => {
    const gate = new MotionGate({ forceEveryMs: Number.POSITIVE_INFINITY });
    gate.processFrame(withSquare(10, 30), 0);
    gate.processFrame(withSquare(10, 30), 500);
    const r = gate.processFrame(withSquare(60, 30), 1000);
    expect(r.motion).toBe(true);
    expect(r.reason).toBe('motion');
    expect(r.changedRatio).toBeGreaterThan(0.002);
    // The square now at small (60..68, 30..38) is (480..544, 240..304) in the 768×576 frame.
    const around = r.regions.find((b) => b.x <= 480 && b.y <= 240 && b.x + b.w >= 544 && b.y + b.h >= 304);
    expect(around).toBeDefined();
    expect(around?.w).toBeLessThan(130);
    expect(around?.label).toBe('motion');
    // Nothing changed on the far right or at the bottom of the frame.
    expect(r.regions.every((b) => b.x + b.w < 600 && b.y + b.h < 400)).toBe(true);
  });

  it('ignores sensor-like noise of ±5 grey levels', () => {
    const gate = new MotionGate({ forceEveryMs: Number.POSITIVE_INFINITY });
    const base = scene();
    gate.processFrame(noisy(base, 5, 1), 0);
    for (let i = 2; i < 30; i++) {
      const r = gate.processFrame(noisy(base, 5, i), i * 500);
      expect(r.motion).toBe(false);
    }
    expect(gate.toJSON().motionFrames).toBe(1);
  });

  it('blurs away heavy night-time gain noise of ±20 grey levels', () => {
    const gate = new MotionGate({ forceEveryMs: Number.POSITIVE_INFINITY });
    const base = scene();
    for (let i = 1; i < 30; i++) gate.processFrame(noisy(base, 20, i * 7919), i * 500);
    expect(gate.toJSON().motionFrames).toBe(1);
  });

  it('ignores an isolated hot pixel but not a square of the same brightness', () => {
    const gate = new MotionGate({ forceEveryMs: Number.POSITIVE_INFINITY });
    gate.processFrame(frame(scene()), 0);
    const hot = scene();
    hot[40 * W + 40] = 255;
    expect(gate.processFrame(frame(hot), 500).motion).toBe(false);
    expect(gate.processFrame(withSquare(40, 40, 6), 1000).motion).toBe(true);
  });

  it('lets a still frame through every forceEveryMs of the injected clock, and only then', () => {
    let clock = 0;
    const gate = new MotionGate({ forceEveryMs: 5000, now: () => clock });
    const decisions: string[] = [];
    for (let i = 0; i <= 12; i++) {
      clock = i * 1000;
      decisions.push(gate.processFrame(frame(scene())).reason);
    }
    expect(decisions).toEqual(['warm-up', 'still', 'still', 'still', 'still', 'forced', 'still', 'still', 'still', 'still', 'forced', 'still', 'still']);
    expect(gate.toJSON()).toMatchObject({ frames: 13, forcedFrames: 2, skippedFrames: 10 });
  });

  it('restarts the forced timer after motion', () => {
    let clock = 0;
    // alpha 1: the background is the previous frame, so the square's ghost is gone one frame later.
    const gate = new MotionGate({ forceEveryMs: 3000, alpha: 1, now: () => clock });
    gate.processFrame(withSquare(10, 10));
    clock = 2000;
    expect(gate.processFrame(withSquare(50, 10)).reason).toBe('motion');
    clock = 4000;
    expect(gate.processFrame(withSquare(50, 10)).reason).toBe('still');
    clock = 5000;
    expect(gate.processFrame(withSquare(50, 10)).reason).toBe('forced');
  });

  it('treats a global brightness change as a relearned background, not motion', () => {
    const gate = new MotionGate({ forceEveryMs: Number.POSITIVE_INFINITY });
    gate.processFrame(frame(scene()), 0);
    const bright = scene().map((v) => Math.min(255, v + 80));
    const r = gate.processFrame(frame(bright), 500);
    expect(r).toMatchObject({ motion: false, runDetector: true, reason: 'global-change' });
    expect(gate.processFrame(frame(bright), 1000).reason).toBe('still');
  });

  it('starts over with a warm-up when the image size changes', () => {
    const gate = new MotionGate();
    gate.processFrame(frame(scene()), 0);
    const small: GreyImage = { width: 48, height: 36, data: new Uint8Array(48 * 36).fill(90) };
    expect(gate.processFrame(small, 500).reason).toBe('warm-up');
  });

  it('rejects options out of range and buffers of the wrong size with typed errors', () => {
    expect(() => new MotionGate({ alpha: 0 })).toThrow(MotionOptionsError);
    expect(() => new MotionGate({ pixelThreshold: 300 })).toThrow(MotionOptionsError);
    expect(() => new MotionGate().processFrame({ width: 10, height: 10, data: new Uint8Array(99) }, 0)).toThrow(GreyImageError);
  });
});

describe('MotionGate on real frames of vtest.avi', () => {
  const video = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
  let dir = '';
  const jpegs: Uint8Array[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chronotrace-motion-'));
    // Frames 100–102 (10 fps): pedestrians walking.
    await promisify(execFile)('/usr/bin/ffmpeg', ['-v', 'error', '-i', video, '-vf', 'select=between(n\\,100\\,102)', '-vsync', '0', '-q:v', '3', join(dir, 'f%d.jpg')]);
    for (const name of ['f1.jpg', 'f2.jpg', 'f3.jpg']) jpegs.push(await readFile(join(dir, name)));
  });

  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('decodes a JPEG to a 96-px-wide grey image that remembers the frame size', async () => {
    const grey = await toGreySmall(jpegs[0] ?? new Uint8Array());
    expect(grey).toMatchObject({ width: 96, height: 72, sourceWidth: 768, sourceHeight: 576 });
    expect(grey.data.length).toBe(96 * 72);
  });

  it('sees the pedestrians move between consecutive frames, with regions inside the frame', async () => {
    const gate = new MotionGate();
    const [a, b, c] = await Promise.all(jpegs.map((j) => toGreySmall(j)));
    if (a === undefined || b === undefined || c === undefined) throw new Error('frames missing');
    gate.processFrame(a, 0);
    const r1 = gate.processFrame(b, 100);
    const r2 = gate.processFrame(c, 200);
    // Measured: ≈0.35 % of pixels change after one frame at 10 fps, ≈0.8 % after two.
    expect(r2.motion).toBe(true);
    const r = r1.motion ? r1 : r2;
    expect(r.regions.length).toBeGreaterThan(0);
    for (const box of r.regions) {
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.x + box.w).toBeLessThanOrEqual(768);
      expect(box.y + box.h).toBeLessThanOrEqual(576);
    }
  });

  it('sees no motion in the same real frame twice', async () => {
    const gate = new MotionGate();
    const a = await toGreySmall(jpegs[0] ?? new Uint8Array());
    gate.processFrame(a, 0);
    const r = gate.processFrame(await toGreySmall(jpegs[0] ?? new Uint8Array()), 100);
    expect(r).toMatchObject({ motion: false, changedRatio: 0, regions: [] });
  });
});
