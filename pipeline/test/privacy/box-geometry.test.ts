import { describe, expect, it } from 'vitest';
import { clampToFrame, coverage, growBox, iou, roundBox } from '../../src/privacy/box-geometry';
import { redactionRegions } from '../../src/privacy/redactor';

describe('box geometry', () => {
  it('grows a box by the margin fraction of its size on every side', () => {
    expect(growBox({ x: 100, y: 50, w: 40, h: 20 }, 0.25)).toEqual({ x: 90, y: 45, w: 60, h: 30 });
  });

  it('keeps score and label when growing, and treats a negative margin as none', () => {
    expect(growBox({ x: 1, y: 2, w: 3, h: 4, score: 0.9, label: 'face' }, -1)).toEqual({ x: 1, y: 2, w: 3, h: 4, score: 0.9, label: 'face' });
  });

  it('clamps to the frame and rounds outwards so the detected area stays covered', () => {
    expect(clampToFrame({ x: 10.6, y: 20.2, w: 5.1, h: 5.1 }, 100, 100)).toEqual({ left: 10, top: 20, width: 6, height: 6 });
    expect(clampToFrame({ x: -15, y: -5, w: 30, h: 20 }, 100, 80)).toEqual({ left: 0, top: 0, width: 15, height: 15 });
    expect(clampToFrame({ x: 90, y: 70, w: 30, h: 30 }, 100, 80)).toEqual({ left: 90, top: 70, width: 10, height: 10 });
  });

  it('drops boxes that are outside the frame, empty or not finite', () => {
    expect(clampToFrame({ x: 200, y: 10, w: 10, h: 10 }, 100, 100)).toBeNull();
    expect(clampToFrame({ x: 10, y: 10, w: 0, h: 10 }, 100, 100)).toBeNull();
    expect(clampToFrame({ x: Number.NaN, y: 10, w: 5, h: 10 }, 100, 100)).toBeNull();
  });

  it('grows then clamps every redaction region, keeping only those inside the frame', () => {
    const regions = redactionRegions(
      [
        { x: 0, y: 0, w: 20, h: 20 },
        { x: 500, y: 500, w: 10, h: 10 },
      ],
      0.5,
      64,
      48,
    );
    expect(regions).toEqual([{ left: 0, top: 0, width: 30, height: 30 }]);
  });

  it('measures overlap as IoU and as coverage of the inner box', () => {
    const a = { x: 0, y: 0, w: 10, h: 10 };
    expect(iou(a, a)).toBe(1);
    expect(iou(a, { x: 5, y: 0, w: 10, h: 10 })).toBeCloseTo(50 / 150);
    expect(iou(a, { x: 20, y: 20, w: 5, h: 5 })).toBe(0);
    expect(coverage({ x: 2, y: 2, w: 4, h: 4 }, a)).toBe(1);
    expect(coverage({ x: 5, y: 0, w: 10, h: 10 }, a)).toBe(0.5);
  });

  it('rounds boxes for records to 0.1 px and scores to 0.001', () => {
    expect(roundBox({ x: 1.234, y: 5.678, w: 9.999, h: 1.05, score: 0.98765, label: 'face' })).toEqual({ x: 1.2, y: 5.7, w: 10, h: 1.1, score: 0.988, label: 'face' });
  });
});
