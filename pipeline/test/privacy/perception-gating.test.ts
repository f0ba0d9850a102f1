/**
 * Person detection inside the privacy boundary, motion-gated: the gating and reuse logic of PrivacyCore +
 * PerceptionMemory with fake (but real-class) detectors on generated frames.
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DetectedObjectBox, FrameMeta, ModelVersion, PrivacySettings } from '@chronotrace/contracts';
import { PrivacyCore } from '../../src/privacy/privacy-core';
import { PerceptionMemory, type PrivacyObjectDetector } from '../../src/privacy/perception-memory';
import { FixedBoxDetector, FocusRecorder } from './detector-doubles';

const SETTINGS: PrivacySettings = { faces: true, plates: true, heads: true, method: 'pixelate', margin: 0 };
/** Its head region (top 22 %, widened) straddles the top edge of the dark square in the generated scene. */
const PERSON: DetectedObjectBox = { x: 100, y: 185, w: 40, h: 120, label: 'person', score: 0.8 };
const CAR: DetectedObjectBox = { x: 300, y: 300, w: 120, h: 60, label: 'car', score: 0.7 };

/** An object detector that answers with fixed boxes, counts its calls, and can fail the next N calls or answer late. */
class FakeObjectDetector implements PrivacyObjectDetector {
  readonly models: readonly ModelVersion[] = [{ name: 'fake-objects', version: 'test' }];
  calls = 0;
  failNext = 0;
  closed = false;
  constructor(
    private readonly boxes: DetectedObjectBox[] = [PERSON, CAR],
    private readonly delayMs = 0,
  ) {}
  async start(): Promise<void> {}
  async detect(): Promise<{ boxes: DetectedObjectBox[]; ms: number }> {
    this.calls++;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('object model exploded');
    }
    return { boxes: this.boxes.map((b) => ({ ...b })), ms: this.delayMs };
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

let still: Buffer;
const moved: Buffer[] = [];

/** A 640×480 grey scene with a dark square at x. */
function scene(x: number): Promise<Buffer> {
  const square = { input: { create: { width: 80, height: 80, channels: 3 as const, background: { r: 20, g: 20, b: 20 } } }, left: x, top: 200 };
  return sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 170, g: 170, b: 170 } } })
    .composite([square])
    .jpeg({ quality: 90 })
    .toBuffer();
}

beforeAll(async () => {
  still = await scene(100);
  for (const x of [200, 300, 400]) moved.push(await scene(x));
});

let seq = 0;
const meta = (capturedAt: number, camera = 'cam1'): FrameMeta => ({ camera, frameId: `${camera}:1:${++seq}`, seq, capturedAt, width: 640, height: 480 });
const core = (objects: PrivacyObjectDetector, memory: PerceptionMemory): PrivacyCore =>
  new PrivacyCore({ face: new FixedBoxDetector('face', []), text: new FixedBoxDetector('text', []), objects, memory });

describe('PrivacyCore with a motion-gated object detector', () => {
  it('runs the detector on the first frame, reuses its detections while nothing moves, runs again when forced', async () => {
    const objects = new FakeObjectDetector();
    const memory = new PerceptionMemory({ forceEveryMs: 2000 });
    const c = core(objects, memory);
    const t = 1_000_000;
    const decisions: { ran: boolean; reason: string; heads: number; objects: number }[] = [];
    for (const dt of [0, 500, 1000, 1500, 2000, 2500]) {
      const r = await c.process({ meta: meta(t + dt), jpeg: still }, SETTINGS);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      decisions.push({ ran: r.meta.redaction.motion.ran, reason: r.meta.redaction.motion.reason, heads: r.meta.redaction.heads.length, objects: r.meta.redaction.objects.length });
    }
    expect(decisions).toEqual([
      { ran: true, reason: 'warm-up', heads: 1, objects: 2 },
      { ran: false, reason: 'still', heads: 1, objects: 2 },
      { ran: false, reason: 'still', heads: 1, objects: 2 },
      { ran: false, reason: 'still', heads: 1, objects: 2 },
      { ran: true, reason: 'forced', heads: 1, objects: 2 },
      { ran: false, reason: 'still', heads: 1, objects: 2 },
    ]);
    expect(objects.calls).toBe(2);
    expect(c.toJSON()).toMatchObject({ objectRuns: 2, objectReused: 4, headsFound: 6 });
    expect(memory.toJSON().cam1).toMatchObject({ frames: 6, detectorRuns: 2, reused: 4 });
    await c.close();
    expect(objects.closed).toBe(true);
  });

  it('on a still frame skips the face and text models too, reusing their last boxes; a moved frame runs them again', async () => {
    const face = new FixedBoxDetector('face', [{ x: 10, y: 10, w: 30, h: 30, label: 'face', score: 0.9 }]);
    const text = new FixedBoxDetector('text', [{ x: 400, y: 400, w: 60, h: 20, label: 'text', score: 0.8 }]);
    const memory = new PerceptionMemory({ forceEveryMs: Infinity });
    const c = new PrivacyCore({ face, text, objects: new FakeObjectDetector(), memory });
    const t = 2_000_000;
    const seen: { faces: number; plates: number; ran: boolean }[] = [];
    for (const [dt, jpeg] of [[0, still], [500, still], [1000, still], [1500, moved[0]!]] as const) {
      const r = await c.process({ meta: meta(t + dt, 'cam-faces'), jpeg }, SETTINGS);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      seen.push({ faces: r.meta.redaction.faces.length, plates: r.meta.redaction.plates.filter((b) => b.label !== 'plate-region').length, ran: r.meta.redaction.motion.ran });
    }
    // Warm-up ran every model; two still frames reused the boxes (still redacted); the moved frame ran them all.
    expect(seen).toEqual([
      { faces: 1, plates: 1, ran: true },
      { faces: 1, plates: 1, ran: false },
      { faces: 1, plates: 1, ran: false },
      { faces: 1, plates: 1, ran: true },
    ]);
    expect([face.calls, text.calls]).toEqual([2, 2]);
    expect(memory.toJSON()['cam-faces']).toMatchObject({ facesReused: 2, textReused: 2 });
    await c.close();
  });

  it('never reuses boxes from a frame of another size (the camera\'s width changed while the scene stood still), nor face boxes from before faces were turned off', async () => {
    const face = new FixedBoxDetector('face', [{ x: 500, y: 10, w: 30, h: 30, label: 'face', score: 0.9 }]);
    const objects = new FakeObjectDetector();
    const c = new PrivacyCore({ face, text: new FixedBoxDetector('text', []), objects, memory: new PerceptionMemory({ forceEveryMs: Infinity }) });
    const half = await sharp(still).resize(320, 240).jpeg({ quality: 90 }).toBuffer();
    const t = 4_000_000;
    expect((await c.process({ meta: meta(t, 'cam-size'), jpeg: still }, SETTINGS)).ok).toBe(true);
    expect((await c.process({ meta: meta(t + 500, 'cam-size'), jpeg: still }, SETTINGS)).ok).toBe(true);
    expect([face.calls, objects.calls]).toEqual([1, 1]);
    // Same picture at half the width: the small grey image the gate compares is the same, but the boxes are not.
    const r = await c.process({ meta: { ...meta(t + 1000, 'cam-size'), width: 320, height: 240 }, jpeg: half }, SETTINGS);
    expect(r.ok).toBe(true);
    expect([face.calls, objects.calls]).toEqual([2, 2]);
    // Faces off for a frame, then on again: the old face boxes are not reused.
    await c.process({ meta: { ...meta(t + 1500, 'cam-size'), width: 320, height: 240 }, jpeg: half }, { ...SETTINGS, faces: false });
    await c.process({ meta: { ...meta(t + 2000, 'cam-size'), width: 320, height: 240 }, jpeg: half }, SETTINGS);
    expect(face.calls).toBe(3);
    await c.close();
  });

  it('without an object detector (no motion gate) runs the face and text models on every frame', async () => {
    const face = new FixedBoxDetector('face', []);
    const c = new PrivacyCore({ face, text: new FixedBoxDetector('text', []) });
    for (const dt of [0, 500, 1000]) expect((await c.process({ meta: meta(3_000_000 + dt, 'cam-nogate'), jpeg: still }, SETTINGS)).ok).toBe(true);
    expect(face.calls).toBe(3);
    await c.close();
  });

  it('redacts the head region of every person (label person-head) and reports all objects and the object model', async () => {
    const c = core(new FakeObjectDetector(), new PerceptionMemory());
    const r = await c.process({ meta: meta(1), jpeg: still }, SETTINGS);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const [head] = r.meta.redaction.heads;
    expect(r.meta.redaction.heads).toHaveLength(1);
    expect(head).toMatchObject({ label: 'person-head', y: 185 });
    expect(head!.x).toBeLessThan(PERSON.x);
    expect(head!.h).toBeLessThan(PERSON.h / 3);
    expect(r.meta.redaction.objects.map((o) => o.label)).toEqual(['person', 'car']);
    expect(r.meta.redaction.models.map((m) => m.name)).toEqual(['fixed-face', 'fixed-text', 'fake-objects']);
    // The head region's pixels changed; a spot far from any box did not (beyond JPEG noise).
    const raw = await sharp(still).raw().toBuffer();
    const red = await sharp(r.jpeg).raw().toBuffer();
    await c.close();
    const diff = (x0: number, y0: number, w: number, h: number): number => {
      let d = 0;
      for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) for (let k = 0; k < 3; k++) d += Math.abs(raw[(y * 640 + x) * 3 + k]! - red[(y * 640 + x) * 3 + k]!);
      return d / (w * h * 3);
    };
    // The square's top edge (y 200) runs through the head region: pixelation must smear it.
    expect(diff(96, 186, 48, 24)).toBeGreaterThan(5);
    expect(diff(560, 20, 40, 40)).toBeLessThan(3);
  });

  it('with heads off, reports the objects but redacts no head', async () => {
    const c = core(new FakeObjectDetector(), new PerceptionMemory());
    const r = await c.process({ meta: meta(1), jpeg: still }, { ...SETTINGS, heads: false });
    expect(r.ok && r.meta.redaction.heads).toEqual([]);
    expect(r.ok && r.meta.redaction.objects).toHaveLength(2);
    await c.close();
  });

  it('runs the detector on every frame that moved', async () => {
    const objects = new FakeObjectDetector();
    const c = core(objects, new PerceptionMemory({ forceEveryMs: Infinity }));
    const reasons: string[] = [];
    let t = 5000;
    for (const jpeg of [still, ...moved]) {
      const r = await c.process({ meta: meta((t += 500)), jpeg }, SETTINGS);
      if (r.ok) reasons.push(r.meta.redaction.motion.reason);
    }
    expect(reasons).toEqual(['warm-up', 'motion', 'motion', 'motion']);
    expect(objects.calls).toBe(4);
    await c.close();
  });

  it('shares gates and detections between the cores of a pool: a still frame on another core reuses them', async () => {
    const memory = new PerceptionMemory({ forceEveryMs: Infinity });
    const a = new FakeObjectDetector([PERSON], 50);
    const b = new FakeObjectDetector([PERSON], 50);
    const ca = core(a, memory);
    const cb = core(b, memory);
    // Dispatched together, as the pool does: the still frame on core B waits for core A's detection and reuses it.
    const [r1, r2] = await Promise.all([ca.process({ meta: meta(10_000, 'cam2'), jpeg: still }, SETTINGS), cb.process({ meta: meta(10_500, 'cam2'), jpeg: still }, SETTINGS)]);
    expect(r1.ok && r1.meta.redaction.motion.ran).toBe(true);
    expect(r2.ok && r2.meta.redaction.motion).toMatchObject({ ran: false, reason: 'still' });
    expect(r2.ok && r2.meta.redaction.heads).toHaveLength(1);
    expect([a.calls, b.calls]).toEqual([1, 0]);
    // Another camera has its own gate: its first frame is a warm-up frame.
    const r3 = await cb.process({ meta: meta(10_600, 'cam3'), jpeg: still }, SETTINGS);
    expect(r3.ok && r3.meta.redaction.motion.reason).toBe('warm-up');
    await Promise.all([ca.close(), cb.close()]);
  });

  it('fails closed when the object detector fails, and a later still frame runs the detector instead of reusing nothing', async () => {
    const objects = new FakeObjectDetector();
    objects.failNext = 1;
    const c = core(objects, new PerceptionMemory({ forceEveryMs: Infinity }));
    const r1 = await c.process({ meta: meta(20_000), jpeg: still }, SETTINGS);
    expect(r1).toMatchObject({ ok: false, reason: 'object-detector' });
    const r2 = await c.process({ meta: meta(20_500), jpeg: still }, SETTINGS);
    expect(r2.ok && r2.meta.redaction.motion).toMatchObject({ ran: true, reason: 'still' });
    expect(r2.ok && r2.meta.redaction.heads).toHaveLength(1);
    const r3 = await c.process({ meta: meta(21_000), jpeg: still }, SETTINGS);
    expect(r3.ok && r3.meta.redaction.motion.ran).toBe(false);
    expect(objects.calls).toBe(2);
    expect(c.toJSON().failuresByReason).toEqual({ 'object-detector': 1 });
    await c.close();
  });

  it('without an object detector behaves as before: no heads, no objects, motion "off"', async () => {
    const c = new PrivacyCore({ face: new FixedBoxDetector('face', []), text: new FixedBoxDetector('text', []) });
    const r = await c.process({ meta: meta(1), jpeg: still }, SETTINGS);
    expect(r.ok && r.meta.redaction).toMatchObject({ heads: [], objects: [], motion: { ran: false, changedRatio: 0, reason: 'off' } });
    expect(r.ok && r.meta.redaction.models.map((m) => m.name)).toEqual(['fixed-face', 'fixed-text']);
    await c.close();
  });
});

describe('PrivacyCore cascade (object detector → face and text detectors)', () => {
  it("looks for faces in people's head regions and unexplained motion, for plates in vehicles; whole-frame passes at their cadence", async () => {
    const face = new FocusRecorder('face');
    const text = new FocusRecorder('text');
    const memory = new PerceptionMemory({ forceEveryMs: Infinity });
    const c = new PrivacyCore({ face, text, objects: new FakeObjectDetector([PERSON, CAR]), memory, faceWholeFrameIntervalMs: 1000, textWholeFrameIntervalMs: 2000 });
    const t = 5_000_000;
    // Frames 2..4 move the dark square: motion where no person box is (the square at x 200–480).
    for (const [dt, jpeg] of [[0, still], [500, moved[0]!], [1000, moved[1]!], [2000, moved[2]!]] as const) {
      // Heads not redacted: the face detector must look at each person's head region itself.
      const r = await c.process({ meta: meta(t + dt, 'cam-cascade'), jpeg }, { ...SETTINGS, heads: false });
      expect(r.ok).toBe(true);
    }
    expect(face.focuses.map((f) => f?.wholeFrame)).toEqual([true, false, true, true]);
    expect(text.focuses.map((f) => f?.wholeFrame)).toEqual([true, false, false, true]);
    for (const f of face.focuses) {
      // The person's head region is always looked at…
      expect(f?.regions.some((r) => r.label === 'person-head' && r.x < PERSON.x && r.y === PERSON.y)).toBe(true);
    }
    // …and on moved frames so is the motion no person explains (the square, away from the person).
    for (const f of face.focuses.slice(1)) expect(f?.regions.some((r) => r.label === 'motion' && r.x >= 180)).toBe(true);
    // Plates: in the car only, never in the person.
    for (const f of text.focuses) expect(f?.regions.map((r) => r.label)).toEqual(['car']);
    // Heads redacted: the head region is hidden anyway, so the face detector does not spend a pass on it.
    const r = await c.process({ meta: meta(t + 4000, 'cam-cascade'), jpeg: still }, SETTINGS);
    expect(r.ok).toBe(true);
    expect(face.focuses[face.focuses.length - 1]?.regions.some((x) => x.label === 'person-head')).toBe(false);
    await c.close();
  });

  it('without an object detector, faces and text are looked for in the whole frame every time', async () => {
    const face = new FocusRecorder('face');
    const text = new FocusRecorder('text');
    const c = new PrivacyCore({ face, text });
    for (const dt of [0, 100]) expect((await c.process({ meta: meta(6_000_000 + dt, 'cam-plain'), jpeg: still }, SETTINGS)).ok).toBe(true);
    expect(face.focuses).toEqual([undefined, undefined]);
    expect(text.focuses).toEqual([undefined, undefined]);
    await c.close();
  });
});
