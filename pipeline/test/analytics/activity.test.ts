import { describe, expect, it } from 'vitest';
import { HEATMAP_COLS, type SceneTrack } from '@chronotrace/contracts';
import { ActivityAccumulator } from '../../src/index';
import { track as matchTrack } from '../matching/fixtures';

const W = 320;
const H = 240;
const T0 = 1_800_000_000_000;

/** A track whose foot point is at (fx, fy), matched on the frame at `at` (a coasting one: lastSeen earlier). */
function track(id: string, fx: number, fy: number, at: number, over: Partial<SceneTrack> = {}): SceneTrack {
  return { ...matchTrack(id, { camera: 'gate', box: { x: fx - 10, y: fy - 60, w: 20, h: 60 }, firstSeen: T0, lastSeen: at, age: at - T0 }), size: 'medium', ...over } as SceneTrack;
}

describe('ActivityAccumulator', () => {
  it('counts line crossings by direction per bucket, zone entries and peaks, in-view peaks and heatmap passes from scripted tracks', () => {
    const acc = new ActivityAccumulator({ camera: 'gate', from: T0, to: T0 + 120_000, bucketMs: 60_000, label: 'person', lines: [{ name: 'gate', from: [0.5, 0], to: [0.5, 1] }], zones: ['door'] });
    // Frame i at T0 + i s: a walks right across x = 160 (out), b walks left across it at 70 s (in); a is in the door zone at x < 100.
    for (let i = 0; i < 100; i++) {
      const at = T0 + i * 1000;
      const tracks: SceneTrack[] = [];
      if (i < 40) {
        const x = 40 + i * 6;
        tracks.push(track('a', x, 200, at, { zones: x < 100 ? ['door'] : [] }));
      }
      if (i >= 60) tracks.push(track('b', 300 - (i - 60) * 6, 150, at));
      // A coasting prediction and a car are not counted.
      tracks.push(track('ghost', i % 2 ? 100 : 220, 100, at - 500));
      tracks.push(track('car', i % 2 ? 100 : 220, 120, at, { label: 'car' }));
      acc.feed({ capturedAt: at, width: W, height: H, tracks });
    }
    // Out of order and outside the span: ignored.
    acc.feed({ capturedAt: T0 + 5_000, width: W, height: H, tracks: [track('late', 10, 10, T0 + 5_000)] });
    acc.feed({ capturedAt: T0 + 200_000, width: W, height: H, tracks: [track('future', 10, 10, T0 + 200_000)] });
    const r = acc.report();
    expect(r.frames).toBe(100);
    expect(r.tracks).toBe(2);
    const gate = r.lines[0]!;
    // The line runs down the picture: left to right is 'out', right to left 'in'.
    expect(gate.total).toEqual({ in: 1, out: 1 });
    expect(gate.buckets).toEqual([
      { at: T0, in: 0, out: 1 },
      { at: T0 + 60_000, in: 1, out: 0 },
    ]);
    expect(r.zones).toEqual([{ name: 'door', peak: 1, entered: 1, buckets: [{ at: T0, peak: 1, entered: 1 }, { at: T0 + 60_000, peak: 0, entered: 0 }] }]);
    expect(r.inView).toEqual([{ at: T0, peak: 1 }, { at: T0 + 60_000, peak: 1 }]);
    // a's row (y 200 → row 20) has one pass per cell it walked through, each counted once.
    const row = (y: number): number[] => r.heatmap.cells.slice(Math.floor((y / H) * 24) * HEATMAP_COLS, (Math.floor((y / H) * 24) + 1) * HEATMAP_COLS);
    const aRow = row(200);
    expect(aRow.every((c) => c <= 1)).toBe(true);
    expect(aRow.reduce((s, c) => s + c, 0)).toBe(new Set(Array.from({ length: 40 }, (_, i) => Math.floor(((40 + i * 6) / W) * HEATMAP_COLS))).size);
    expect(r.heatmap.max).toBe(1);
    // Nothing where only the coasting ghost and the car were.
    expect(row(100).reduce((s, c) => s + c, 0)).toBe(0);
  });
});
