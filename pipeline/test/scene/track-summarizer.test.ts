import { describe, expect, it } from 'vitest';
import type { SceneTrack } from '@chronotrace/contracts';
import { TrackSummarizer, trackQuality } from '../../src/scene/track-summarizer';
import { track as fixtureTrack } from '../matching/fixtures';

const FRAME = { width: 640, height: 480 };

/** The matcher's track fixture as a gate-camera person seen from t = 1 000 ms, last matched at `at`. */
function track(at: number, over: Partial<SceneTrack> = {}): SceneTrack {
  return fixtureTrack('gate:1', { camera: 'gate', box: { x: 100, y: 100, w: 40, h: 100 }, score: 0.6, firstSeen: 1_000, lastSeen: at, hits: 1, age: at - 1_000, ...over }) as SceneTrack;
}

describe('TrackSummarizer', () => {
  it('folds a track\'s detections into one summary: scores, best view, colour shares, zones, dwell, carried objects', () => {
    const s = new TrackSummarizer({ flushEveryMs: 5_000 });
    const red = { dominant: 'red' as const, colors: [{ color: 'red' as const, fraction: 0.7 }] };
    const blue = { dominant: 'blue' as const, colors: [{ color: 'blue' as const, fraction: 0.7 }] };
    expect(s.observe({ capturedAt: 1_000, ...FRAME }, [track(1_000, { score: 0.5, attributes: { upper: red } })], true)).toEqual(['gate:1']);
    // A bigger, surer view is the new best.
    expect(s.observe({ capturedAt: 1_500, ...FRAME }, [track(1_500, { score: 0.9, box: { x: 120, y: 90, w: 60, h: 150 }, attributes: { upper: red }, zones: ['door'], dwell: { door: 400 } })], true)).toEqual(['gate:1']);
    // A weaker view is not; stale colours (attributesFresh false) are not counted.
    expect(s.observe({ capturedAt: 2_000, ...FRAME }, [track(2_000, { score: 0.3, attributes: { upper: blue }, carrying: ['backpack'], carried: [{ trackId: 'gate:2', label: 'backpack', overlap: 0.8, colors: ['black'] }], dwell: { door: 900 } })], false)).toEqual([]);
    // A prediction (no detection this frame) and a tentative track are not observations.
    s.observe({ capturedAt: 2_500, ...FRAME }, [track(2_000, { misses: 1 }), track(2_500, { id: 'gate:9', state: 'tentative' })], true);
    const [sum] = s.end(['gate:1']);
    expect(sum).toMatchObject({
      trackId: 'gate:1',
      ended: true,
      observations: 3,
      bestScore: 0.9,
      bestAt: 1_500,
      bestBox: { x: 120, y: 90, w: 60, h: 150 },
      firstSeen: 1_000,
      lastSeen: 2_000,
      colors: { upper: { red: 1 } },
      zones: ['door'],
      dwell: { door: 0.9 },
      carrying: ['backpack'],
      carriedColors: ['backpack:black'],
    });
    expect(sum!.meanScore).toBeCloseTo((0.5 + 0.9 + 0.3) / 3, 6);
    expect(sum!.quality).toBe(trackQuality(sum!));
    expect(s.size).toBe(0);
    expect(s.end(['gate:1'])).toEqual([]);
  });

  it('writes a live track again only after the flush interval and only when it changed', () => {
    const s = new TrackSummarizer({ flushEveryMs: 5_000 });
    s.observe({ capturedAt: 1_000, ...FRAME }, [track(1_000)], true);
    expect(s.due(1_000)).toHaveLength(1);
    s.observe({ capturedAt: 2_000, ...FRAME }, [track(2_000)], true);
    expect(s.due(3_000)).toEqual([]);
    expect(s.due(6_100)).toHaveLength(1);
    expect(s.due(20_000)).toEqual([]); // unchanged since
    s.observe({ capturedAt: 21_000, ...FRAME }, [track(21_000)], true);
    expect(s.due(21_500, true).map((x) => x.lastSeen)).toEqual([21_000]);
  });

  it('ranks a clear, long view above a glimpse', () => {
    const glimpse = trackQuality({ bestScore: 0.6, meanScore: 0.6, firstSeen: 0, lastSeen: 500 });
    const walk = trackQuality({ bestScore: 0.6, meanScore: 0.6, firstSeen: 0, lastSeen: 12_000 });
    const sure = trackQuality({ bestScore: 0.9, meanScore: 0.8, firstSeen: 0, lastSeen: 500 });
    expect(walk).toBeGreaterThan(glimpse);
    expect(sure).toBeGreaterThan(glimpse);
    expect(walk).toBeLessThanOrEqual(1);
  });
});
