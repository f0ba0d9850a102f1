/**
 * Detect sparsely, redact densely: a generated scene where a person with a textured head walks across
 * the frame at 10 fps, stops, and sets off again, while the detectors run only on analysis frames
 * (2 a second, and on motion no carried region covers). Every output frame's true head region must be
 * pixelated, the frames between detections included. Ground truth is the known position of each frame,
 * which the (test) object detector reads from a label attached to the frame, not from its pixels.
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Box, DetectedObjectBox, FrameMeta, ModelVersion, PrivacySettings } from '@chronotrace/contracts';
import { PerceptionMemory, type PrivacyObjectDetector } from '../../src/privacy/perception-memory';
import { PrivacyCore } from '../../src/privacy/privacy-core';
import { PrivacyCorePool } from '../../src/privacy/privacy-core-pool';
import { FixedBoxDetector, FocusRecorder } from './detector-doubles';

const SETTINGS: PrivacySettings = { faces: true, plates: true, heads: true, method: 'pixelate', margin: 0.15 };
const W = 640;
const H = 480;
/** The person: 40 × 120, head 28 × 26 at its top. */
const PERSON_W = 40;
const PERSON_H = 120;

/** Person x per frame (10 fps): walk right at 12 px a frame, stop for 12 frames, then off again, faster. */
const positions: number[] = [];
for (let i = 0; i < 20; i++) positions.push(60 + i * 12);
for (let i = 0; i < 12; i++) positions.push(positions[positions.length - 1] as number);
for (let i = 0; i < 16; i++) positions.push((positions[positions.length - 1] as number) + 16);

const truthOf = new WeakMap<Uint8Array, number>();

/** An object detector that knows where the person is from the frame's label (its ground truth). */
class LabelledPersonDetector implements PrivacyObjectDetector {
  readonly models: readonly ModelVersion[] = [{ name: 'labelled-person', version: 'test' }];
  calls = 0;
  async start(): Promise<void> {}
  async detect(jpeg: Uint8Array): Promise<{ boxes: DetectedObjectBox[]; ms: number }> {
    this.calls++;
    const x = truthOf.get(jpeg);
    if (x === undefined) throw new Error('unlabelled frame');
    await new Promise((r) => setTimeout(r, 5));
    return { boxes: [{ x, y: 200, w: PERSON_W, h: PERSON_H, label: 'person', score: 0.9 }], ms: 5 };
  }
  async close(): Promise<void> {}
}

/** The true head: the top 22 % of the person box (as headRegion places it), less a safety inset. */
function head(x: number): Box {
  return { x: x + 6, y: 202, w: PERSON_W - 12, h: 22 };
}

let frames: Buffer[] = [];
/** A fine checkerboard: its pixel-to-pixel contrast is what pixelation removes. */
let checker: Buffer;

beforeAll(async () => {
  const cell = 2;
  const tex = Buffer.alloc(PERSON_W * 30 * 3);
  for (let y = 0; y < 30; y++) for (let x = 0; x < PERSON_W; x++) tex.fill(((Math.floor(x / cell) + Math.floor(y / cell)) % 2) * 255, (y * PERSON_W + x) * 3, (y * PERSON_W + x) * 3 + 3);
  checker = await sharp(tex, { raw: { width: PERSON_W, height: 30, channels: 3 } }).png().toBuffer();
  const body = await sharp({ create: { width: PERSON_W, height: PERSON_H - 28, channels: 3, background: { r: 40, g: 60, b: 90 } } }).png().toBuffer();
  frames = await Promise.all(
    positions.map(async (x) => {
      const jpeg = await sharp({ create: { width: W, height: H, channels: 3, background: { r: 150, g: 150, b: 150 } } })
        .composite([{ input: checker, left: x, top: 200 }, { input: body, left: x, top: 228 }])
        .jpeg({ quality: 92 })
        .toBuffer();
      truthOf.set(jpeg, x);
      return jpeg;
    }),
  );
});

/** Mean absolute difference of horizontally neighbouring grey pixels inside a box. */
async function roughness(jpeg: Uint8Array, b: Box): Promise<number> {
  const { data, info } = await sharp(jpeg).extract({ left: Math.round(b.x), top: Math.round(b.y), width: Math.round(b.w), height: Math.round(b.h) }).greyscale().raw().toBuffer({ resolveWithObject: true });
  let s = 0;
  for (let y = 0; y < info.height; y++) for (let x = 1; x < info.width; x++) s += Math.abs((data[y * info.width + x] as number) - (data[y * info.width + x - 1] as number));
  return s / (info.height * (info.width - 1));
}

describe('dense redaction between detections', () => {
  it("covers the true head on every frame at 10 fps with analysis at 2 fps: between detections, after a stop and a sudden start", async () => {
    const objects = new LabelledPersonDetector();
    const core = new PrivacyCore({ face: new FixedBoxDetector('face', []), text: new FixedBoxDetector('text', []), objects, memory: new PerceptionMemory({ forceEveryMs: Infinity }), analysisIntervalMs: 500 });
    const t0 = 10_000_000;
    const raw = await roughness(frames[0] as Buffer, head(positions[0] as number));
    expect(raw).toBeGreaterThan(60);
    let carried = 0;
    for (let i = 0; i < frames.length; i++) {
      const meta: FrameMeta = { camera: 'walker', frameId: `walker:1:${i}`, seq: i, capturedAt: t0 + i * 100, width: W, height: H };
      const r = await core.process({ meta, jpeg: frames[i] as Buffer }, SETTINGS);
      expect(r.ok, `frame ${i}`).toBe(true);
      if (!r.ok) return;
      if (!r.meta.redaction.motion.ran) carried++;
      const left = await roughness(r.jpeg, head(positions[i] as number));
      expect(left, `frame ${i} (person at x ${positions[i]}, detector ${r.meta.redaction.motion.ran ? 'ran' : 'not run'}): head not pixelated`).toBeLessThan(raw / 3);
    }
    // Detection was sparse: most frames were redacted with carried regions.
    expect(carried).toBeGreaterThan(frames.length / 2);
    expect(objects.calls).toBeLessThan(frames.length / 2);
    await core.close();
  });
});

describe('motion no carried region explains', () => {
  it('runs the detectors at once on it, between analysis frames, and shows the face detector that region', async () => {
    const face = new FocusRecorder('face');
    const objects = new LabelledPersonDetector();
    const core = new PrivacyCore({ face, text: new FixedBoxDetector('text', []), objects, memory: new PerceptionMemory({ forceEveryMs: Infinity }), analysisIntervalMs: 10_000 });
    const x = 100;
    const stand = await sharp({ create: { width: W, height: H, channels: 3, background: { r: 150, g: 150, b: 150 } } }).jpeg({ quality: 92 }).toBuffer();
    // The standing person, then the same scene with a small textured patch (a face in a doorway) far away.
    const body = await sharp({ create: { width: PERSON_W, height: PERSON_H, channels: 3, background: { r: 40, g: 60, b: 90 } } }).png().toBuffer();
    const base = await sharp(stand).composite([{ input: body, left: x, top: 200 }]).jpeg({ quality: 92 }).toBuffer();
    const face30 = await sharp({ create: { width: 30, height: 34, channels: 3, background: { r: 90, g: 60, b: 45 } } }).png().toBuffer();
    const withFace = await sharp(base).composite([{ input: face30, left: 500, top: 60 }]).jpeg({ quality: 92 }).toBuffer();
    const sequence = [base, base, base, withFace];
    const ran: boolean[] = [];
    for (let i = 0; i < sequence.length; i++) {
      const jpeg = Buffer.from(sequence[i] as Buffer);
      truthOf.set(jpeg, x);
      const r = await core.process({ meta: { camera: 'doorway', frameId: `doorway:1:${i}`, seq: i, capturedAt: 20_000_000 + i * 100, width: W, height: H }, jpeg }, SETTINGS);
      expect(r.ok).toBe(true);
      if (r.ok) ran.push(r.meta.redaction.motion.ran);
    }
    expect(ran).toEqual([true, false, false, true]);
    const last = face.focuses[face.focuses.length - 1];
    expect(last?.regions.some((r) => r.label === 'motion' && r.x > 450 && r.y < 120)).toBe(true);
    await core.close();
  });
});

describe('under load (every model thread busy)', () => {
  it("redacts a due frame with carried regions instead of queueing it; holds frames back once the regions are too old; heads stay covered", async () => {
    class SlowPerson extends LabelledPersonDetector {
      override async detect(jpeg: Uint8Array): Promise<{ boxes: DetectedObjectBox[]; ms: number }> {
        const r = await super.detect(jpeg);
        await new Promise((res) => setTimeout(res, 300));
        return r;
      }
    }
    const objects = new SlowPerson();
    const memory = new PerceptionMemory({ forceEveryMs: Infinity });
    const pool = new PrivacyCorePool([new PrivacyCore({ face: new FixedBoxDetector('face', []), text: new FixedBoxDetector('text', []), objects, memory, analysisIntervalMs: 500, maxCarryMs: 2000 })]);
    const t0 = 30_000_000;
    const frameOf = (camera: string, i: number, at: number): { meta: FrameMeta; jpeg: Buffer } => {
      const jpeg = Buffer.from(frames[i] as Buffer);
      truthOf.set(jpeg, positions[i] as number);
      return { meta: { camera, frameId: `${camera}:1:${i}:${at}`, seq: i, capturedAt: t0 + at, width: W, height: H }, jpeg };
    };
    const raw = await roughness(frames[0] as Buffer, head(positions[0] as number));
    const covered = async (r: Awaited<ReturnType<PrivacyCorePool['process']>>, i: number): Promise<boolean> => r.ok && (await roughness(r.jpeg, head(positions[i] as number))) < raw / 3;
    // Both cameras analysed twice (so their regions have a velocity).
    for (const i of [0, 5]) for (const cam of ['A', 'B']) expect((await pool.process(frameOf(cam, i, i * 100), SETTINGS)).ok).toBe(true);
    // A's due frame takes the only model thread; B's due frame, meanwhile, is carried, not queued.
    const calls = objects.calls;
    const a = pool.process(frameOf('A', 10, 1000), SETTINGS);
    await until(() => objects.calls > calls);
    const b = await pool.process(frameOf('B', 10, 1000), SETTINGS);
    expect(b.ok && b.meta.redaction.motion.ran).toBe(false);
    expect(await covered(b, 10)).toBe(true);
    const ra = await a;
    expect(ra.ok && ra.meta.redaction.motion.ran).toBe(true);
    expect(memory.toJSON().B?.deferred).toBe(1);
    // B's last analysis is now 2.1 s old, too old to carry: while the thread is busy its frame is held
    // back (not shown, never raw), not queued; once the thread is free, B's next frame is analysed.
    const calls2 = objects.calls;
    const a2 = pool.process(frameOf('A', 26, 2600), SETTINGS);
    await until(() => objects.calls > calls2);
    const b2 = await pool.process(frameOf('B', 26, 2600), SETTINGS);
    expect(b2).toMatchObject({ ok: false, reason: 'held-back' });
    expect(memory.toJSON().B?.heldBack).toBe(1);
    expect((await a2).ok).toBe(true);
    const b3 = await pool.process(frameOf('B', 27, 2700), SETTINGS);
    expect(b3.ok && b3.meta.redaction.motion.ran).toBe(true);
    expect(await covered(b3, 27)).toBe(true);
    await pool.close();
  });
});

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}
