import { describe, expect, it } from 'vitest';
import type { Box } from '@chronotrace/contracts';
import { RegionCarrier } from '../../src/privacy/region-carrier';

const face = (x: number, y: number): Box => ({ x, y, w: 20, h: 20, label: 'face' });

describe('RegionCarrier', () => {
  it('spans where a region was and where its velocity takes it, grown with its age', () => {
    const c = new RegionCarrier<Box>({ growthPerS: 0.6, smoothing: 1 });
    c.update([face(100, 100)], 0);
    c.update([face(110, 100)], 500); // 10 px per 500 ms → 0.02 px/ms
    const [p] = c.predict(750);
    // Last seen at 110..130, moved 0.02·250 = 5 px: 110..135; grown by 0.6·0.25·20 = 3 px: 108.5..136.5.
    expect(p?.x).toBeCloseTo(108.5);
    expect(p?.w).toBeCloseTo(28);
    expect((p?.y ?? 0) + (p?.h ?? 0) / 2).toBeCloseTo(110);
  });

  it('on a still frame keeps regions where they were, not grown', () => {
    const c = new RegionCarrier<Box>();
    c.update([face(100, 100)], 0);
    c.update([face(110, 100)], 500);
    expect(c.predict(3000, true)).toEqual([face(110, 100)]);
  });

  it('holds a region the latest detection missed for holdMs, grown, then drops it', () => {
    const c = new RegionCarrier<Box>({ holdMs: 1000 });
    c.update([face(100, 100), face(300, 300)], 0);
    c.update([face(300, 300)], 400);
    expect(c.held(400)).toHaveLength(1);
    expect(c.predict(800).map((b) => Math.round(b.x + b.w / 2))).toEqual([310, 110]);
    expect(c.predictLatest(800)).toHaveLength(1);
    c.update([face(300, 300)], 1200);
    expect(c.held(1200)).toEqual([]);
    expect(c.predict(1200)).toHaveLength(1);
  });

  it('caps growth, ignores a detection older than the newest, and does not trust an implausible jump', () => {
    const c = new RegionCarrier<Box>({ growthPerS: 1, maxGrowth: 0.5, maxSpeedWidthsPerS: 3 });
    c.update([face(100, 100)], 1000);
    c.update([face(0, 0)], 500);
    expect(c.predict(1000)[0]).toMatchObject({ x: 100, y: 100 });
    expect(c.predict(10_000)[0]?.w).toBeCloseTo(30);
    expect(c.predict(10_000)[0]?.h).toBeCloseTo(30);
    // 20 px-wide face moving 200 px in 100 ms = 100 widths/s: matched by label, but its velocity is not trusted.
    c.update([face(112, 100)], 1100);
    c.update([face(300, 100)], 1200);
    const [p] = c.predict(1300, true);
    expect(p).toMatchObject({ x: 300, w: 20 });
    // Not moved (velocity zeroed), grown by 1 × 0.1 s × 20 px = 2 px: 1 px each side.
    expect(c.predict(1300)[0]?.x).toBeCloseTo(299);
  });
});
