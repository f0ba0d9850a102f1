import { describe, expect, it } from 'vitest';
import { connectedComponents, textBoxesFromProbabilityMap } from '../../src/privacy/probability-map';

/** A w×h map of zeros with the given rectangles set to `v`. */
function mapWith(w: number, h: number, rects: { x: number; y: number; w: number; h: number; v?: number }[]): Float32Array {
  const m = new Float32Array(w * h);
  for (const r of rects) for (let y = r.y; y < r.y + r.h; y++) for (let x = r.x; x < r.x + r.w; x++) m[y * w + x] = r.v ?? 0.9;
  return m;
}

describe('connected components', () => {
  it('finds each separate region with its bounding box, area and mean value', () => {
    const m = mapWith(20, 10, [
      { x: 1, y: 1, w: 4, h: 2, v: 0.8 },
      { x: 10, y: 5, w: 3, h: 3, v: 0.6 },
    ]);
    const cs = connectedComponents(m, 20, 10, 0.3);
    expect(cs).toHaveLength(2);
    expect(cs[0]).toMatchObject({ x: 1, y: 1, w: 4, h: 2, area: 8 });
    expect(cs[0]?.meanScore).toBeCloseTo(0.8);
    expect(cs[1]).toMatchObject({ x: 10, y: 5, w: 3, h: 3, area: 9 });
  });

  it('joins diagonal neighbours (8-connectivity) and ignores values below the threshold', () => {
    const m = mapWith(6, 6, [
      { x: 0, y: 0, w: 1, h: 1 },
      { x: 1, y: 1, w: 1, h: 1 },
      { x: 2, y: 2, w: 1, h: 1 },
      { x: 5, y: 5, w: 1, h: 1, v: 0.1 },
    ]);
    const cs = connectedComponents(m, 6, 6, 0.3);
    expect(cs).toEqual([{ x: 0, y: 0, w: 3, h: 3, area: 3, meanScore: expect.closeTo(0.9) as number }]);
  });

  it('handles a map that is all foreground without recursion limits', () => {
    const m = new Float32Array(640 * 480).fill(1);
    expect(connectedComponents(m, 640, 480, 0.5)).toEqual([{ x: 0, y: 0, w: 640, h: 480, area: 640 * 480, meanScore: 1 }]);
  });

  it('rejects a map shorter than its declared size', () => {
    expect(() => connectedComponents(new Float32Array(10), 4, 4, 0.5)).toThrow(RangeError);
  });
});

describe('text boxes from a probability map', () => {
  it('scales regions to frame pixels and grows them by the unclip distance', () => {
    // 10×4 region in a 100×50 map; frame is 4× larger.
    const m = mapWith(100, 50, [{ x: 20, y: 10, w: 10, h: 4 }]);
    const [box, ...rest] = textBoxesFromProbabilityMap(m, 100, 50, 400, 200, { unclipRatio: 1.5 });
    expect(rest).toHaveLength(0);
    const d = (10 * 4 * 1.5) / (2 * 14); // ≈ 2.14 map px
    expect(box?.x).toBeCloseTo((20 - d) * 4);
    expect(box?.y).toBeCloseTo((10 - d) * 4);
    expect(box?.w).toBeCloseTo((10 + 2 * d) * 4);
    expect(box?.h).toBeCloseTo((4 + 2 * d) * 4);
    expect(box?.label).toBe('text');
  });

  it('drops specks below the minimum area and weak regions below the box threshold', () => {
    const m = mapWith(50, 50, [
      { x: 1, y: 1, w: 2, h: 2 },
      { x: 10, y: 10, w: 8, h: 4, v: 0.35 },
      { x: 30, y: 30, w: 8, h: 4, v: 0.95 },
    ]);
    const boxes = textBoxesFromProbabilityMap(m, 50, 50, 50, 50, { minArea: 6, boxThreshold: 0.5 });
    expect(boxes).toHaveLength(1);
    expect(boxes[0]?.score).toBeCloseTo(0.95);
  });

  it('clamps grown boxes to the frame', () => {
    const m = mapWith(32, 32, [{ x: 0, y: 0, w: 10, h: 10 }]);
    const [box] = textBoxesFromProbabilityMap(m, 32, 32, 64, 64);
    expect(box?.x).toBe(0);
    expect(box?.y).toBe(0);
  });
});
