/**
 * Plates the text detector cannot read are hidden too: the plate area of every large enough vehicle.
 * The real-model part runs nanodet on OpenCV's motion-blurred plate sample (Debian opencv-doc), with a
 * text detector that finds nothing, and checks the plate (placed by eye) is pixelated.
 */
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { PrivacySettings } from '@chronotrace/contracts';
import { ObjectDetector } from '../../src/detect/object-detector';
import { plateRegion, PLATE_REGION_MIN_VEHICLE_WIDTH } from '../../src/detect/plate-region';
import { PerceptionMemory } from '../../src/privacy/perception-memory';
import { PrivacyCore } from '../../src/privacy/privacy-core';
import { coverage } from '../../src/privacy/box-geometry';
import { FixedBoxDetector } from '../privacy/detector-doubles';

const SAMPLE = '/usr/share/doc/opencv-doc/examples/data/licenseplate_motion.jpg';
const SETTINGS: PrivacySettings = { faces: true, plates: true, heads: true, method: 'pixelate', margin: 0.15 };

describe('plateRegion', () => {
  it('places the plate area in the lower middle of a vehicle box, and none for a small vehicle', () => {
    expect(plateRegion({ x: 100, y: 50, w: 200, h: 100, label: 'car', score: 0.7 })).toEqual({ x: expect.closeTo(156), y: expect.closeTo(95), w: expect.closeTo(88), h: expect.closeTo(37), label: 'plate-region', score: 0.7 });
    expect(plateRegion({ x: 0, y: 0, w: PLATE_REGION_MIN_VEHICLE_WIDTH - 1, h: 60 })).toBeNull();
  });
});

describe('a blurred plate the text detector misses (real object model)', () => {
  const core = new PrivacyCore({ face: new FixedBoxDetector('face', []), text: new FixedBoxDetector('text', []), objects: new ObjectDetector(), memory: new PerceptionMemory() });
  afterAll(() => core.close());

  it('is pixelated as the plate area of the car', async () => {
    const jpeg = await sharp(SAMPLE).resize(640).jpeg({ quality: 92 }).toBuffer();
    const meta = await sharp(jpeg).metadata();
    const plate = { x: 245, y: 245, w: 140, h: 70 };
    const r = await core.process({ meta: { camera: 'gate', frameId: 'gate:1:1', seq: 1, capturedAt: Date.now(), width: meta.width ?? 0, height: meta.height ?? 0 }, jpeg }, SETTINGS);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.meta.redaction.objects.some((o) => o.label === 'car')).toBe(true);
    expect(r.meta.redaction.plates.some((b) => coverage(plate, b) > 0.9)).toBe(true);
    // The plate's pixels: flat blocks now.
    const rough = async (bytes: Uint8Array): Promise<number> => {
      const { data, info } = await sharp(bytes).extract({ left: plate.x, top: plate.y, width: plate.w, height: plate.h }).greyscale().raw().toBuffer({ resolveWithObject: true });
      let s = 0;
      for (let y = 0; y < info.height; y++) for (let x = 1; x < info.width; x++) s += Math.abs((data[y * info.width + x] as number) - (data[y * info.width + x - 1] as number));
      return s / (info.height * (info.width - 1));
    };
    expect(await rough(r.jpeg)).toBeLessThan((await rough(jpeg)) / 2);
  });
});
