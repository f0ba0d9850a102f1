import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { Redactor } from '../../src/privacy/redactor';
import { fixture } from './face-eval-set';

interface Raw {
  data: Buffer;
  width: number;
  height: number;
}

async function decode(jpeg: Uint8Array): Promise<Raw> {
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Mean absolute per-channel difference of two decoded frames inside (or outside) a rectangle. */
function meanDiff(a: Raw, b: Raw, r: { left: number; top: number; width: number; height: number }, inside: boolean): number {
  let sum = 0;
  let n = 0;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const within = x >= r.left && x < r.left + r.width && y >= r.top && y < r.top + r.height;
      if (within !== inside) continue;
      for (let c = 0; c < 3; c++) {
        const i = (y * a.width + x) * 3 + c;
        sum += Math.abs((a.data[i] as number) - (b.data[i] as number));
        n++;
      }
    }
  }
  return sum / n;
}

describe('Redactor', () => {
  const face = { x: 181, y: 71, w: 84, h: 104 };

  it.each(['pixelate', 'blur'] as const)('%s changes the pixels inside the grown box and leaves the rest of the frame alone', async (method) => {
    const jpeg = await fixture('astronaut.jpg');
    const { jpeg: out, regions } = await new Redactor().redact({ jpeg, width: 512, height: 512, boxes: [face], method, margin: 0.15 });
    // Grown by 15 % of 84 px / 104 px on each side, rounded outwards.
    expect(regions).toEqual([{ left: 168, top: 55, width: 110, height: 136 }]);
    const [before, after] = await Promise.all([decode(jpeg), decode(out)]);
    const region = regions[0] ?? { left: 0, top: 0, width: 0, height: 0 };
    const inside = meanDiff(before, after, region, true);
    const outside = meanDiff(before, after, region, false);
    expect(inside).toBeGreaterThan(8);
    // Outside the region only JPEG re-encoding noise.
    expect(outside).toBeLessThan(2.5);
  });

  it('pixelates into flat blocks of about the region size / factor', async () => {
    const jpeg = await sharp({ create: { width: 240, height: 120, channels: 3, background: '#000' } })
      .composite([{ input: Buffer.from('<svg width="240" height="120"><rect x="0" y="0" width="240" height="120" fill="url(#g)"/><defs><linearGradient id="g"><stop offset="0" stop-color="#000"/><stop offset="1" stop-color="#fff"/></linearGradient></defs></svg>') }])
      .png()
      .toBuffer();
    const { jpeg: out } = await new Redactor({ pixelateFactor: 12, jpegQuality: 100 }).redact({ jpeg, width: 240, height: 120, boxes: [{ x: 0, y: 0, w: 240, h: 120 }], method: 'pixelate', margin: 0 });
    const raw = await decode(out);
    // A row of a horizontal gradient becomes 20 steps of 12 px: neighbours within a block are (nearly) equal.
    const row = 60;
    const px = (x: number): number => raw.data[(row * raw.width + x) * 3] as number;
    expect(Math.abs(px(1) - px(10))).toBeLessThanOrEqual(3);
    expect(px(230) - px(5)).toBeGreaterThan(150);
  });

  it('re-encodes a frame with nothing to hide (metadata stripped) and keeps its size', async () => {
    const jpeg = await sharp(await fixture('street.jpg')).withMetadata({ exif: { IFD0: { Copyright: 'secret' } } }).jpeg().toBuffer();
    const { jpeg: out, regions } = await new Redactor().redact({ jpeg, width: 640, height: 480, boxes: [], method: 'pixelate', margin: 0.15 });
    expect(regions).toEqual([]);
    const m = await sharp(out).metadata();
    expect([m.width, m.height, m.exif]).toEqual([640, 480, undefined]);
  });
});
