import { describe, expect, it } from 'vitest';
import { clampToFrame } from '../../src/privacy/box-geometry';
import { HEAD_HEIGHT_RATIO, HEAD_WIDEN_RATIO, headRegion } from '../../src/detect/head-region';

describe('headRegion', () => {
  it('is the top 22 % of a person box, widened by 10 % of its width on each side', () => {
    const head = headRegion({ x: 100, y: 50, w: 40, h: 100, score: 0.8, label: 'person' });
    expect(HEAD_HEIGHT_RATIO).toBe(0.22);
    expect(HEAD_WIDEN_RATIO).toBe(0.1);
    expect(head.x).toBeCloseTo(96);
    expect(head.y).toBe(50);
    expect(head.w).toBeCloseTo(48);
    expect(head.h).toBeCloseTo(22);
  });

  it('keeps the person score and labels the region person-head', () => {
    expect(headRegion({ x: 0, y: 0, w: 10, h: 10, score: 0.42 })).toMatchObject({ score: 0.42, label: 'person-head' });
    expect(headRegion({ x: 0, y: 0, w: 10, h: 10 })).not.toHaveProperty('score');
  });

  it('covers the head of a pedestrian seen on vtest.avi (box from the detector, head measured by eye)', () => {
    // Pedestrian at (513, 221, 29×88) in frame 200 at 640 px; the head spans roughly x 519–533, y 221–238.
    const head = headRegion({ x: 513, y: 221, w: 29, h: 88 });
    expect(head.x).toBeLessThanOrEqual(519);
    expect(head.x + head.w).toBeGreaterThanOrEqual(533);
    expect(head.y).toBeLessThanOrEqual(221);
    expect(head.y + head.h).toBeGreaterThanOrEqual(238);
    // …and not the whole torso: under a third of the person.
    expect(head.h).toBeLessThan(88 / 3);
  });

  it('may reach past the frame edge; clampToFrame then keeps the visible part', () => {
    const head = headRegion({ x: 0, y: 0, w: 30, h: 90 });
    expect(head.x).toBeLessThan(0);
    expect(clampToFrame(head, 640, 480)).toEqual({ left: 0, top: 0, width: 33, height: 20 });
  });

  it('gives an empty region for a degenerate box instead of a negative one', () => {
    const head = headRegion({ x: 5, y: 5, w: -3, h: -1 });
    expect(head.w).toBe(0);
    expect(head.h).toBe(0);
  });
});
