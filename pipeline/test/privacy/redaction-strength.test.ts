/**
 * Redaction strength, judged by a face detector that did not place the regions: OpenCV's Haar cascade
 * (Viola–Jones, haarcascade_frontalface_default.xml from Debian's opencv-doc, run by opencv.js). The
 * faces are the evaluation set's ground truth (close-ups and small faces pasted into a street frame,
 * mirrored too); a face counts when Haar finds it with IoU ≥ 0.3.
 *   - Control: Haar finds most of these faces in the raw frames, and still finds them behind a light
 *     blur (so the check below can fail: a weak redaction is seen through).
 *   - The real privacy core (BlazeFace places the regions) and the Redactor alone on the true face
 *     boxes, pixelate and blur: Haar finds none of them.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Box, FrameMeta, PrivacySettings } from '@chronotrace/contracts';
import { PrivacyCore } from '../../src/privacy/privacy-core';
import { Redactor } from '../../src/privacy/redactor';
import { closeUps, matches, smallFaces, type EvalFrame } from './face-eval-set';
import { haarFaceDetector, type HaarFaceDetector } from './haar-faces';

let frames: EvalFrame[] = [];
let haar: HaarFaceDetector;
/** Per frame, the true faces Haar finds in the raw frame (the ones a redaction must hide from it). */
let seen: Box[][] = [];

const foundBy = async (jpeg: Uint8Array, faces: Box[]): Promise<Box[]> => {
  const hits = await haar.detect(jpeg);
  return faces.filter((f) => matches(f, hits));
};
const total = (xs: Box[][]): number => xs.reduce((a, x) => a + x.length, 0);

beforeAll(async () => {
  haar = await haarFaceDetector();
  frames = [...(await closeUps()), ...(await smallFaces([32, 48, 64, 96], { mirrored: true }))];
  seen = await Promise.all(frames.map((f) => foundBy(f.jpeg, f.faces)));
}, 120_000);

describe('redaction strength against a second face detector (OpenCV Haar cascade)', () => {
  it('control: Haar finds most true faces in the raw frames, and through a light blur', async () => {
    const faces = total(frames.map((f) => f.faces));
    // Measured: 18 of 27 (Haar misses the camera man, some pasted faces and the smallest), all 18 again behind
    // the light blur. With 8-px blocks whatever the face size (the redaction before this test), Haar found
    // 9 of the 18 through pixelation.
    expect(total(seen)).toBeGreaterThanOrEqual(Math.ceil(0.5 * faces));
    let throughBlur = 0;
    for (const [i, f] of frames.entries()) {
      const overlays = await Promise.all(
        f.faces.map(async (b) => {
          const r = { left: Math.max(0, Math.round(b.x)), top: Math.max(0, Math.round(b.y)), width: Math.round(b.w), height: Math.round(b.h) };
          return { input: await sharp(f.jpeg).extract(r).blur(1).toBuffer(), left: r.left, top: r.top };
        }),
      );
      const weak = await sharp(f.jpeg).composite(overlays).jpeg({ quality: 80 }).toBuffer();
      throughBlur += (await foundBy(weak, seen[i] ?? [])).length;
    }
    expect(throughBlur).toBeGreaterThanOrEqual(Math.ceil(0.5 * total(seen)));
  }, 120_000);

  describe('the privacy core (BlazeFace places the regions)', () => {
    const core = new PrivacyCore();
    beforeAll(() => core.start(), 60_000);
    afterAll(() => core.close());

    for (const method of ['pixelate', 'blur'] as const) {
      it(`${method}: Haar finds none of the faces it found in the raw frames`, async () => {
        const settings: PrivacySettings = { faces: true, plates: true, heads: true, method, margin: 0.15 };
        const left: string[] = [];
        for (const [i, f] of frames.entries()) {
          const meta: FrameMeta = { camera: `strength-${method}-${i}`, frameId: `strength-${method}-${i}:1`, seq: 1, capturedAt: Date.now(), width: f.width, height: f.height };
          const r = await core.process({ meta, jpeg: f.jpeg }, settings);
          if (!r.ok) throw new Error(`${f.name}: ${r.reason} ${r.detail}`);
          for (const b of await foundBy(r.jpeg, seen[i] ?? [])) left.push(`${f.name} at ${Math.round(b.x)},${Math.round(b.y)}`);
        }
        expect(left).toEqual([]);
      }, 120_000);
    }
  });

  for (const method of ['pixelate', 'blur'] as const) {
    it(`the redactor alone, ${method}, on the true face boxes with no margin: Haar finds none`, async () => {
      const redactor = new Redactor();
      const left: string[] = [];
      for (const [i, f] of frames.entries()) {
        const r = await redactor.redact({ jpeg: f.jpeg, width: f.width, height: f.height, boxes: f.faces, method, margin: 0 });
        for (const b of await foundBy(r.jpeg, seen[i] ?? [])) left.push(`${f.name} at ${Math.round(b.x)},${Math.round(b.y)}`);
      }
      expect(left).toEqual([]);
    }, 120_000);
  }
});
