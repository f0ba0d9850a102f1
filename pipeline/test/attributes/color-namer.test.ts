import type { BasicColor, Box } from '@chronotrace/contracts';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  AttributeOptionsError,
  BOX_SIZE_THRESHOLDS,
  ColorNamer,
  RgbImageError,
  boxSize,
  classifyColor,
  colorAttributes,
  decodeRgb,
  parseColorNamerOptions,
  type ColorAttributes,
  type RgbImage,
} from '../../src/attributes/index';

type Rgb = readonly [number, number, number];

const GREY_ROAD: Rgb = [110, 112, 108];
const GRASS: Rgb = [60, 140, 50];
const SKIN: Rgb = [224, 172, 140];
const RED: Rgb = [200, 30, 35];
const BLUE: Rgb = [30, 60, 170];
const WINDOW: Rgb = [25, 30, 35];
const TYRE: Rgb = [15, 15, 15];

function canvas(width: number, height: number, fill: Rgb): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < data.length; p += 3) data.set(fill, p);
  return { width, height, data };
}

/** Fills the part of the rectangle inside the image. */
function rect(img: RgbImage, x: number, y: number, w: number, h: number, color: Rgb): void {
  for (let yy = Math.max(0, y); yy < Math.min(img.height, y + h); yy++) {
    for (let xx = Math.max(0, x); xx < Math.min(img.width, x + w); xx++) img.data.set(color, (yy * img.width + xx) * 3);
  }
}

/** Deterministic per-channel noise of ±amplitude, like a sensor, so no test passes or fails by luck. */
function addNoise(img: RgbImage, amplitude: number, seed = 7): RgbImage {
  let s = seed >>> 0;
  for (let i = 0; i < img.data.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    const n = Math.round(((s / 2 ** 32) * 2 - 1) * amplitude);
    img.data[i] = Math.max(0, Math.min(255, (img.data[i] ?? 0) + n));
  }
  return img;
}

/**
 * A person standing in `box`: a head (top 15 %), a top (15–52 %), trousers (52–92 %), shoes, and
 * background beside them as the detector's box would include it.
 */
function drawPerson(img: RgbImage, box: Box, top: Rgb, trousers: Rgb, head: Rgb = SKIN): void {
  const at = (f: number): number => Math.round(box.y + f * box.h);
  const cx = box.x + box.w / 2;
  rect(img, Math.round(cx - box.w * 0.15), at(0), Math.round(box.w * 0.3), at(0.15) - at(0), head);
  rect(img, Math.round(box.x + box.w * 0.1), at(0.15), Math.round(box.w * 0.8), at(0.52) - at(0.15), top);
  rect(img, Math.round(box.x + box.w * 0.2), at(0.52), Math.round(box.w * 0.6), at(0.92) - at(0.52), trousers);
  rect(img, Math.round(box.x + box.w * 0.2), at(0.92), Math.round(box.w * 0.6), at(1) - at(0.92), TYRE);
}

/** A car seen from the side/front in `box`: windows on top, body, black tyres at the bottom corners. */
function drawCar(img: RgbImage, box: Box, body: Rgb): void {
  const at = (f: number): number => Math.round(box.y + f * box.h);
  rect(img, box.x, at(0), box.w, at(0.3) - at(0), body);
  rect(img, Math.round(box.x + box.w * 0.2), at(0.05), Math.round(box.w * 0.6), at(0.22) - at(0.05), WINDOW);
  rect(img, box.x, at(0.3), box.w, at(0.8) - at(0.3), body);
  rect(img, box.x, at(0.8), box.w, at(1) - at(0.8), GREY_ROAD);
  rect(img, Math.round(box.x + box.w * 0.08), at(0.7), Math.round(box.w * 0.2), at(1) - at(0.7), TYRE);
  rect(img, Math.round(box.x + box.w * 0.72), at(0.7), Math.round(box.w * 0.2), at(1) - at(0.7), TYRE);
}

function shareOf(attrs: ColorAttributes, part: 'any' | 'upper' | 'lower', color: BasicColor): number {
  return attrs[part]?.colors.find((c) => c.color === color)?.fraction ?? 0;
}

function listed(attrs: ColorAttributes, part: 'any' | 'upper' | 'lower'): BasicColor[] {
  return attrs[part]?.colors.map((c) => c.color) ?? [];
}

describe('classifyColor', () => {
  const table: [string, Rgb, BasicColor][] = [
    ['pure red', [255, 0, 0], 'red'],
    ['crimson', [220, 20, 60], 'red'],
    ['maroon', [128, 0, 0], 'red'],
    ['orange', [255, 140, 0], 'orange'],
    ['safety orange', [255, 100, 0], 'orange'],
    ['yellow', [255, 230, 0], 'yellow'],
    ['gold', [255, 215, 0], 'yellow'],
    ['green', [0, 128, 0], 'green'],
    ['lime', [50, 205, 50], 'green'],
    ['hi-vis yellow-green', [200, 255, 0], 'green'],
    ['navy', [0, 0, 128], 'blue'],
    ['royal blue', [65, 105, 225], 'blue'],
    ['sky blue', [135, 206, 235], 'blue'],
    ['teal', [0, 128, 128], 'blue'],
    ['CSS purple', [128, 0, 128], 'purple'],
    ['violet', [138, 43, 226], 'purple'],
    ['pink', [255, 192, 203], 'pink'],
    ['hot pink', [255, 105, 180], 'pink'],
    ['magenta', [255, 0, 255], 'pink'],
    ['saddle brown', [139, 69, 19], 'brown'],
    ['dark brown', [90, 55, 30], 'brown'],
    ['tan', [210, 180, 140], 'brown'],
    ['black', [10, 10, 12], 'black'],
    ['dark navy in shadow', [10, 10, 40], 'black'],
    ['grey', [128, 128, 128], 'grey'],
    ['silver', [180, 182, 185], 'grey'],
    ['white', [245, 245, 245], 'white'],
    ['bluish white', [225, 230, 242], 'white'],
    ['beige', [245, 245, 220], 'white'],
  ];
  it.each(table)('names %s as expected', (_name, [r, g, b], expected) => {
    expect(classifyColor(r, g, b)).toBe(expected);
  });
});

describe('colorAttributes on synthesised frames', () => {
  it('names a person in a red top and blue trousers: upper red, lower blue, both in any', () => {
    const img = addNoise(canvas(320, 240, GREY_ROAD), 10);
    const box = { x: 100, y: 20, w: 60, h: 200 };
    drawPerson(img, box, RED, BLUE);
    const a = colorAttributes(img, box, 'person');
    expect(a.kind).toBe('person');
    expect(a.upper?.dominant).toBe('red');
    expect(shareOf(a, 'upper', 'red')).toBeGreaterThan(0.95);
    expect(listed(a, 'upper')).toEqual(['red']);
    expect(a.lower?.dominant).toBe('blue');
    expect(shareOf(a, 'lower', 'blue')).toBeGreaterThan(0.95);
    expect(listed(a, 'lower')).toEqual(['blue']);
    expect(shareOf(a, 'any', 'red')).toBeGreaterThan(0.4);
    expect(shareOf(a, 'any', 'blue')).toBeGreaterThan(0.4);
    expect(a.upper?.samples).toBeGreaterThanOrEqual(100);
  });

  it('never samples the head: a green head leaves no green vote in any part', () => {
    const img = canvas(200, 300, GREY_ROAD);
    const box = { x: 50, y: 10, w: 100, h: 280 };
    drawPerson(img, box, RED, BLUE, [0, 220, 0]);
    // Make the whole head band (top 15 %, full box width) green too, not just the face.
    rect(img, box.x, box.y, box.w, Math.round(box.h * 0.15), [0, 220, 0]);
    const a = colorAttributes(img, box, 'person');
    for (const part of ['upper', 'lower', 'any'] as const) expect(shareOf(a, part, 'green')).toBe(0);
    // Even with the upper body moved up to the head's edge (the highest start allowed) and the widest patches.
    const highest = parseColorNamerOptions({ regions: { personUpper: { top: 0.15, bottom: 0.5, left: 0, right: 1 } }, patchRadius: 4 });
    expect(shareOf(colorAttributes(img, box, 'person', highest), 'upper', 'green')).toBe(0);
    expect(() => parseColorNamerOptions({ regions: { personUpper: { top: 0.05, bottom: 0.5, left: 0.2, right: 0.8 } } })).toThrow(
      AttributeOptionsError,
    );
  });

  it('reads no pixel above the upper-body region, even with the widest patches on a thin region', () => {
    const img = canvas(200, 300, [250, 250, 250]);
    const box = { x: 50, y: 10, w: 100, h: 280 };
    // White head band down to exactly the region's top edge, black everywhere below it.
    const edge = Math.round(box.y + 0.15 * box.h);
    rect(img, 0, edge, 200, 300 - edge, [0, 0, 0]);
    const thin = parseColorNamerOptions({ regions: { personUpper: { top: 0.15, bottom: 0.2, left: 0, right: 1 } }, patchRadius: 4 });
    const a = colorAttributes(img, box, 'person', thin);
    expect(a.upper?.samples).toBeGreaterThan(100);
    expect(listed(a, 'upper')).toEqual(['black']);
    expect(shareOf(a, 'upper', 'black')).toBe(1);
  });

  it.each([
    ['white', [235, 236, 238] as Rgb],
    ['black', [20, 20, 24] as Rgb],
    ['grey', [125, 127, 130] as Rgb],
    ['red', RED],
    ['blue', BLUE],
    ['yellow', [240, 200, 20] as Rgb],
  ] as const)('names a %s car by its body, not its windows, tyres or the grass around it', (expected, body) => {
    const img = addNoise(canvas(400, 240, GRASS), 8);
    const box = { x: 80, y: 60, w: 240, h: 120 };
    drawCar(img, box, body);
    const a = colorAttributes(img, box, 'vehicle');
    expect(a.any?.dominant).toBe(expected);
    expect(shareOf(a, 'any', expected)).toBeGreaterThan(0.75);
    expect(a.upper).toBeUndefined();
    expect(a.lower).toBeUndefined();
  });

  it('tells brown from orange, pink from red and orange from yellow', () => {
    const cases: [Rgb, BasicColor][] = [
      [[120, 70, 30], 'brown'],
      [[245, 130, 20], 'orange'],
      [[250, 175, 190], 'pink'],
      [[205, 25, 30], 'red'],
      [[250, 150, 10], 'orange'],
      [[250, 215, 30], 'yellow'],
      [[110, 40, 150], 'purple'],
      [[40, 150, 60], 'green'],
    ];
    for (const [fill, expected] of cases) {
      const img = addNoise(canvas(120, 120, GREY_ROAD), 10);
      rect(img, 20, 20, 80, 80, fill);
      const a = colorAttributes(img, { x: 20, y: 20, w: 80, h: 80 }, 'object');
      expect({ fill, dominant: a.any?.dominant }).toEqual({ fill, dominant: expected });
      expect(shareOf(a, 'any', expected)).toBeGreaterThan(0.9);
    }
  });

  it('lists every colour holding at least 20 % of a part, largest first, and drops the rest', () => {
    const img = canvas(100, 100, GREY_ROAD);
    const box = { x: 0, y: 0, w: 100, h: 100 };
    // The object region is 15..85 in both axes (70 px wide): 42 px red, 21 px white, 7 px blue.
    rect(img, 15, 0, 42, 100, RED);
    rect(img, 57, 0, 21, 100, [240, 240, 240]);
    rect(img, 78, 0, 7, 100, BLUE);
    const a = colorAttributes(img, box, 'object');
    expect(listed(a, 'any')).toEqual(['red', 'white']);
    expect(shareOf(a, 'any', 'red')).toBeCloseTo(0.6, 1);
    expect(shareOf(a, 'any', 'white')).toBeCloseTo(0.3, 1);
    const sum = a.any?.colors.reduce((s, c) => s + c.fraction, 0) ?? 0;
    expect(sum).toBeLessThanOrEqual(1);
  });

  it('keeps its answers after a JPEG round trip through sharp (quality 70, 4:2:0 chroma)', async () => {
    const img = addNoise(canvas(640, 360, GREY_ROAD), 6);
    const person = { x: 60, y: 60, w: 70, h: 240 };
    const pinkPerson = { x: 160, y: 80, w: 60, h: 210 };
    const white = { x: 260, y: 120, w: 160, h: 90 };
    const black = { x: 450, y: 200, w: 160, h: 90 };
    const brown = { x: 450, y: 40, w: 120, h: 120 };
    drawPerson(img, person, RED, BLUE);
    drawPerson(img, pinkPerson, [250, 170, 190], [20, 20, 22]);
    drawCar(img, white, [236, 236, 236]);
    drawCar(img, black, [22, 22, 26]);
    rect(img, brown.x, brown.y, brown.w, brown.h, [125, 75, 35]);
    const jpeg = await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } })
      .jpeg({ quality: 70, chromaSubsampling: '4:2:0' })
      .toBuffer();
    const decoded = await decodeRgb(jpeg);
    expect([decoded.width, decoded.height]).toEqual([640, 360]);
    for (const frame of [img, decoded]) {
      const p = colorAttributes(frame, person, 'person');
      expect([p.upper?.dominant, p.lower?.dominant]).toEqual(['red', 'blue']);
      expect(shareOf(p, 'upper', 'red')).toBeGreaterThan(0.9);
      const q = colorAttributes(frame, pinkPerson, 'person');
      expect([q.upper?.dominant, q.lower?.dominant]).toEqual(['pink', 'black']);
      expect(colorAttributes(frame, white, 'vehicle').any?.dominant).toBe('white');
      expect(colorAttributes(frame, black, 'vehicle').any?.dominant).toBe('black');
      expect(colorAttributes(frame, brown, 'object').any?.dominant).toBe('brown');
    }
  });

  it('decodes a greyscale or alpha image to 3 channels', async () => {
    const grey = await sharp({ create: { width: 8, height: 4, channels: 3, background: { r: 128, g: 128, b: 128 } } }).greyscale().png().toBuffer();
    const rgba = await sharp({ create: { width: 8, height: 4, channels: 4, background: { r: 200, g: 30, b: 30, alpha: 1 } } }).png().toBuffer();
    const g = await decodeRgb(grey);
    const r = await decodeRgb(rgba);
    expect(g.data.length).toBe(8 * 4 * 3);
    expect(r.data.length).toBe(8 * 4 * 3);
    expect(colorAttributes(g, { x: 0, y: 0, w: 8, h: 4 }, 'object', parseColorNamerOptions({ minSamplesPerPart: 1 })).any?.dominant).toBe('grey');
    expect(colorAttributes(r, { x: 0, y: 0, w: 8, h: 4 }, 'object', parseColorNamerOptions({ minSamplesPerPart: 1 })).any?.dominant).toBe('red');
  });
});

describe('boxes partly or wholly outside the frame', () => {
  it('places body parts from the whole box when the head is above the frame', () => {
    const img = canvas(200, 200, GREY_ROAD);
    const box = { x: 60, y: -60, w: 60, h: 250 };
    drawPerson(img, box, RED, BLUE);
    const a = colorAttributes(img, box, 'person');
    expect(a.upper?.dominant).toBe('red');
    expect(shareOf(a, 'upper', 'red')).toBeGreaterThan(0.95);
    expect(a.lower?.dominant).toBe('blue');
  });

  it('omits the lower body when the legs are below the frame, and still names the top', () => {
    const img = canvas(200, 120, GREY_ROAD);
    const box = { x: 60, y: 10, w: 60, h: 200 };
    drawPerson(img, box, RED, BLUE);
    const a = colorAttributes(img, box, 'person');
    expect(a.upper?.dominant).toBe('red');
    expect(a.lower).toBeUndefined();
    expect(a.any?.dominant).toBe('red');
  });

  it('names a car cut by the left edge from the part in view', () => {
    const img = canvas(300, 200, GRASS);
    const box = { x: -100, y: 40, w: 240, h: 120 };
    drawCar(img, box, BLUE);
    const a = colorAttributes(img, box, 'vehicle');
    expect(a.any?.dominant).toBe('blue');
    expect(shareOf(a, 'any', 'blue')).toBeGreaterThan(0.9);
  });

  it('names nothing for a box wholly outside the frame or too small to sample, and counts it', () => {
    const img = canvas(100, 100, RED);
    const namer = new ColorNamer();
    const outside = namer.name(img, { x: 150, y: -50, w: 40, h: 40 }, 'vehicle');
    expect(outside).toEqual({ kind: 'vehicle', samples: 0, pixelsRead: 0 });
    const tiny = namer.name(img, { x: 10, y: 10, w: 3, h: 6 }, 'person');
    expect(tiny.upper).toBeUndefined();
    expect(tiny.lower).toBeUndefined();
    expect(namer.toJSON()).toMatchObject({ boxes: 2, unnamed: 2 });
  });
});

describe('work done per box', () => {
  it('takes at most maxSamplesPerPart samples of a 3×3 patch each, however big the box', () => {
    const img = canvas(1920, 1080, BLUE);
    const namer = new ColorNamer();
    const { maxSamplesPerPart } = namer.options;
    const person = namer.name(img, { x: 0, y: 0, w: 1920, h: 1080 }, 'person');
    expect(person.upper?.samples).toBeLessThanOrEqual(maxSamplesPerPart);
    expect(person.upper?.samples).toBeGreaterThanOrEqual(maxSamplesPerPart * 0.9);
    expect(person.samples).toBeLessThanOrEqual(2 * maxSamplesPerPart);
    expect(person.pixelsRead).toBeLessThanOrEqual(9 * person.samples);
    const car = namer.name(img, { x: 0, y: 0, w: 1920, h: 1080 }, 'vehicle');
    expect(car.samples).toBeLessThanOrEqual(maxSamplesPerPart);
    // ~1,000 sampled patches instead of the ~3 million pixels of the two boxes' regions.
    expect(namer.toJSON().pixelsRead).toBeLessThanOrEqual(9 * 3 * maxSamplesPerPart);
    expect(namer.toJSON().samples).toBe(person.samples + car.samples);
  });

  it('rejects an RGB buffer of the wrong size and options out of range', () => {
    expect(() => colorAttributes({ width: 10, height: 10, data: new Uint8Array(100) }, { x: 0, y: 0, w: 5, h: 5 }, 'object')).toThrow(RgbImageError);
    expect(() => new ColorNamer({ maxSamplesPerPart: 0 })).toThrow(AttributeOptionsError);
    expect(() => new ColorNamer({ minFraction: 1.5 })).toThrow(AttributeOptionsError);
    expect(() => new ColorNamer({ patchRadius: -1 })).toThrow(AttributeOptionsError);
  });
});

describe('boxSize', () => {
  const frame = { width: 1920, height: 1000 };
  it('classes boxes by the share of the frame height they cover, at the documented thresholds', () => {
    expect(BOX_SIZE_THRESHOLDS).toEqual({ medium: 0.15, large: 0.45 });
    expect(boxSize({ x: 0, y: 0, w: 50, h: 149 }, frame)).toBe('small');
    expect(boxSize({ x: 0, y: 0, w: 50, h: 150 }, frame)).toBe('medium');
    expect(boxSize({ x: 0, y: 0, w: 50, h: 449 }, frame)).toBe('medium');
    expect(boxSize({ x: 0, y: 0, w: 50, h: 450 }, frame)).toBe('large');
  });
  it('counts only the part of the box inside the frame', () => {
    expect(boxSize({ x: 0, y: 900, w: 50, h: 500 }, frame)).toBe('small');
    expect(boxSize({ x: 0, y: -300, w: 50, h: 500 }, frame)).toBe('medium');
    expect(boxSize({ x: 0, y: 2000, w: 50, h: 500 }, frame)).toBe('small');
  });
});
