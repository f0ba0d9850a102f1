import { describe, expect, it } from 'vitest';
import { COCO_CLASSES, isCocoClassName } from '../../src/detect/coco';
import { NANODET_BINS, decodeCenternet, decodeNanodet, nonMaxSuppression, type DetectedObject } from '../../src/detect/coco-decoders';

const FRAME = { width: 640, height: 480, inputSize: 416 };

describe('COCO classes', () => {
  it('has the 80 classes, person first', () => {
    expect(COCO_CLASSES).toHaveLength(80);
    expect(COCO_CLASSES[0]).toBe('person');
    expect(COCO_CLASSES.indexOf('backpack')).toBe(24);
    expect(isCocoClassName('suitcase')).toBe(true);
    expect(isCocoClassName('face')).toBe(false);
  });
});

describe('decodeCenternet', () => {
  it('maps x1 y1 x2 y2 in model pixels to frame pixels and keeps rows over minScore', () => {
    const rows = new Float32Array([
      ...[256, 128, 384, 384, 0.9, 0], // person, 1/4 of the 512 square → frame scale 1.25 × 0.9375
      ...[0, 0, 100, 100, 0.2, 2], // car, under minScore
      ...[480, 480, 600, 600, 0.5, 24], // backpack, partly outside: clipped
      ...[10, 10, 20, 20, 0.8, Number.NaN], // padding row
    ]);
    const boxes = decodeCenternet(rows, { width: 640, height: 480, inputSize: 512 }, 0.3);
    expect(boxes).toHaveLength(2);
    expect(boxes[0]).toMatchObject({ label: 'person', score: expect.closeTo(0.9, 5) as number, x: 320, y: 120, w: 160, h: 240 });
    expect(boxes[1]).toMatchObject({ label: 'backpack', x: 600, y: 450, w: 40, h: 30 });
  });
});

/** A nanodet level with one hot cell: class `cls` at `score`, and distances (in bins) l t r b, as one-hot logits. */
function level(stride: number, cell: number, cls: number, score: number, bins: [number, number, number, number]) {
  const n = FRAME.inputSize / stride;
  const scores = new Float32Array(n * n * 80);
  scores[cell * 80 + cls] = score;
  const regs = new Float32Array(n * n * 4 * NANODET_BINS).fill(-20);
  bins.forEach((b, side) => {
    regs[(cell * 4 + side) * NANODET_BINS + b] = 20;
  });
  return { stride, scores, regs };
}

describe('decodeNanodet', () => {
  it('decodes distances from the cell centre as expectation × stride', () => {
    // Stride 32 → 13×13 cells; cell (col 6, row 6) centre (208, 208); distances 2,3,2,3 bins = 64, 96, 64, 96 px.
    const boxes = decodeNanodet([level(32, 6 * 13 + 6, 0, 0.8, [2, 3, 2, 3])], FRAME, 0.3);
    expect(boxes).toHaveLength(1);
    const sx = 640 / 416;
    const sy = 480 / 416;
    const b = boxes[0] as DetectedObject;
    expect(b.label).toBe('person');
    expect(b.x).toBeCloseTo(144 * sx, 3);
    expect(b.y).toBeCloseTo(112 * sy, 3);
    expect(b.w).toBeCloseTo(128 * sx, 3);
    expect(b.h).toBeCloseTo(192 * sy, 3);
  });

  it('averages over a spread distribution and ignores scores under minScore', () => {
    const l = level(8, 0, 2, 0.5, [1, 1, 1, 1]);
    // Left side: equal logits on bins 1 and 3 → expectation 2 → 16 px (clipped at the frame edge anyway).
    l.regs[0 * NANODET_BINS + 3] = 20;
    l.scores[5 * 80 + 7] = 0.1;
    const boxes = decodeNanodet([l], FRAME, 0.3);
    expect(boxes).toHaveLength(1);
    expect(boxes[0]?.label).toBe('car');
    expect(boxes[0]?.x).toBe(0);
  });

  it('rejects a level whose size does not match its stride', () => {
    expect(() => decodeNanodet([{ stride: 16, scores: new Float32Array(80), regs: new Float32Array(44) }], FRAME, 0.3)).toThrow(RangeError);
  });
});

describe('nonMaxSuppression', () => {
  const p = (x: number, score: number, label: DetectedObject['label'] = 'person'): DetectedObject => ({ x, y: 0, w: 10, h: 20, score, label });

  it('keeps the best of same-class boxes overlapping over the threshold, best first', () => {
    const kept = nonMaxSuppression([p(1, 0.6), p(0, 0.9), p(30, 0.5)], 0.5, 10);
    expect(kept.map((b) => b.score)).toEqual([0.9, 0.5]);
  });

  it('keeps overlapping boxes of different classes (a person and the backpack on them)', () => {
    expect(nonMaxSuppression([p(0, 0.9), p(0, 0.6, 'backpack')], 0.5, 10)).toHaveLength(2);
  });

  it('returns at most maxResults', () => {
    expect(nonMaxSuppression([p(0, 0.9), p(30, 0.8), p(60, 0.7)], 0.5, 2)).toHaveLength(2);
  });
});
