import { describe, expect, it } from 'vitest';
import { blazefaceAnchors, decodeBlazeface, weightedNms } from '../../src/privacy/blazeface-decoder';

describe('blazefaceAnchors', () => {
  it('lays 896 anchors for both input sizes: the finer map (2 a cell) first, then the coarser (6 a cell)', () => {
    for (const size of [128, 256]) {
      const a = blazefaceAnchors(size);
      expect(a).toHaveLength(896);
      expect(a[0]).toEqual({ x: 0.5 / 16, y: 0.5 / 16 });
      expect(a[1]).toEqual(a[0]);
      expect(a[512]).toEqual({ x: 0.5 / 8, y: 0.5 / 8 });
      expect(a[895]).toEqual({ x: 7.5 / 8, y: 7.5 / 8 });
    }
  });
});

describe('decodeBlazeface', () => {
  const anchors = blazefaceAnchors(256);
  const raw = (hits: { anchor: number; logit: number; dx: number; dy: number; w: number; h: number }[]) => {
    const scores = new Float32Array(896).fill(-10);
    const regressors = new Float32Array(896 * 16);
    for (const h of hits) {
      scores[h.anchor] = h.logit;
      regressors.set([h.dx, h.dy, h.w, h.h], h.anchor * 16);
    }
    return { scores, regressors };
  };

  it('places a face from its anchor, offset and size, mapped from the input square into the frame', () => {
    // Anchor 0 is centred at (8, 8) of the 256 input; +2, +4 → centre (10, 12), 20 × 24.
    const boxes = decodeBlazeface(raw([{ anchor: 0, logit: 3, dx: 2, dy: 4, w: 20, h: 24 }]), anchors, 256, { x: 100, y: 50, scale: 0.5, width: 640, height: 480 }, 0.5);
    expect(boxes).toHaveLength(1);
    const [b] = boxes;
    expect(b?.x).toBeCloseTo(100 + 0 * 0.5);
    expect(b?.y).toBeCloseTo(50 + 0 * 0.5);
    expect(b?.w).toBeCloseTo(10);
    expect(b?.h).toBeCloseTo(12);
    expect(b?.score).toBeCloseTo(1 / (1 + Math.exp(-3)));
    expect(b?.label).toBe('face');
  });

  it('drops scores under the threshold and clips to the frame', () => {
    const r = raw([
      { anchor: 10, logit: -1, dx: 0, dy: 0, w: 20, h: 20 },
      { anchor: 895, logit: 4, dx: 30, dy: 30, w: 40, h: 40 },
    ]);
    const boxes = decodeBlazeface(r, anchors, 256, { x: 0, y: 0, scale: 1, width: 256, height: 256 }, 0.5);
    expect(boxes).toHaveLength(1);
    expect((boxes[0]?.x ?? 0) + (boxes[0]?.w ?? 0)).toBeLessThanOrEqual(256);
    expect((boxes[0]?.y ?? 0) + (boxes[0]?.h ?? 0)).toBeLessThanOrEqual(256);
  });

  it('refuses outputs that do not fit the anchors', () => {
    expect(() => decodeBlazeface({ scores: new Float32Array(10), regressors: new Float32Array(160) }, anchors, 256, { x: 0, y: 0, scale: 1, width: 1, height: 1 }, 0.5)).toThrow(RangeError);
  });
});

describe('weightedNms', () => {
  it('merges overlapping boxes of one face into their score-weighted mean, keeps separate faces', () => {
    const kept = weightedNms(
      [
        { x: 10, y: 10, w: 20, h: 20, score: 0.9 },
        { x: 12, y: 12, w: 20, h: 20, score: 0.3 },
        { x: 100, y: 100, w: 20, h: 20, score: 0.6 },
      ],
      0.3,
    );
    expect(kept).toHaveLength(2);
    expect(kept[0]?.x).toBeCloseTo(10.5);
    expect(kept[0]?.score).toBe(0.9);
    expect(kept[1]).toMatchObject({ x: 100, y: 100, w: 20, h: 20 });
  });
});
