import { describe, expect, it } from 'vitest';
import { Tracker, TrackerOptionsError, type TrackerDetection, type TrackerUpdate } from '../../src/tracking/index';

const person = (x: number, y: number, score = 0.9, w = 40, h = 100): TrackerDetection => ({ x, y, w, h, label: 'person', score });
const STEP = 500; // 2 analysed frames per second

/** Feeds one list of detections per frame, STEP ms apart from `start`, and returns every update. */
function run(tracker: Tracker, frames: TrackerDetection[][], start = 0): TrackerUpdate[] {
  return frames.map((detections, i) => tracker.update({ at: start + i * STEP, detections }));
}

describe('Tracker', () => {
  it('keeps the ids of two people whose paths cross, even with the detection order shuffled', () => {
    const tracker = new Tracker({ camera: 'gate' });
    const frames: TrackerDetection[][] = [];
    for (let i = 0; i <= 10; i++) {
      const a = person(100 + 40 * i, 200); // walking right
      const b = person(500 - 40 * i, 204, 0.8, 42, 104); // walking left, same height band
      frames.push(i % 2 === 0 ? [a, b] : [b, a]);
    }
    const updates = run(tracker, frames);
    expect(updates[1]?.started.map((t) => t.id)).toEqual(['gate:1', 'gate:2']);
    const last = updates[10]?.tracks ?? [];
    expect(last).toHaveLength(2);
    const one = last.find((t) => t.id === 'gate:1');
    const two = last.find((t) => t.id === 'gate:2');
    // gate:1 started at x=100 and must have ended at x=500 (walking right); gate:2 the reverse.
    expect(one?.box.x).toBe(500);
    expect(two?.box.x).toBe(100);
    expect(one?.velocity.x).toBeCloseTo(80, 0);
    expect(two?.velocity.x).toBeCloseTo(-80, 0);
    // Its whole path moves one way.
    const xs = one?.path.map((p) => p.x) ?? [];
    expect(xs.every((x, i) => i === 0 || x > (xs[i - 1] ?? 0))).toBe(true);
    expect(tracker.toJSON()).toMatchObject({ startedTotal: 2, endedTotal: 0 });
  });

  it('follows an object moving more than its own width per frame (velocity prediction)', () => {
    const tracker = new Tracker({ camera: 'road' });
    const car = (x: number): TrackerDetection => ({ x, y: 300, w: 60, h: 40, label: 'car', score: 0.9 });
    const updates = run(tracker, [0, 1, 2, 3, 4, 5].map((i) => [car(10 + 90 * i)]));
    expect(updates.flatMap((u) => u.started).map((t) => t.id)).toEqual(['road:1']);
    expect(updates[5]?.tracks).toMatchObject([{ id: 'road:1', hits: 6, state: 'confirmed' }]);
    expect(updates[5]?.tracks[0]?.speed).toBeCloseTo(180, 0);
  });

  it('does not break a track over a missed frame', () => {
    const tracker = new Tracker({ camera: 'hall' });
    const updates = run(tracker, [[person(100, 100)], [person(110, 100)], [person(120, 100)], [], [person(140, 100)], [person(150, 100)]]);
    expect(updates[3]?.tracks).toMatchObject([{ id: 'hall:1', state: 'lost', misses: 1 }]);
    expect(updates[3]?.updated).toEqual([]);
    expect(updates[4]?.updated).toMatchObject([{ id: 'hall:1', state: 'confirmed', misses: 0, hits: 4 }]);
    expect(updates.flatMap((u) => u.started)).toHaveLength(1);
    expect(updates.flatMap((u) => u.ended)).toHaveLength(0);
  });

  it('never confirms a spurious single detection', () => {
    const tracker = new Tracker({ camera: 'hall' });
    const updates = run(tracker, [[], [person(300, 300)], [], [], []]);
    expect(updates.every((u) => u.started.length === 0 && u.tracks.length === 0 && u.ended.length === 0)).toBe(true);
    expect(tracker.toJSON()).toMatchObject({ discardedTentative: 1, startedTotal: 0, activeTracks: 0, tentativeTracks: 0 });
  });

  it('accumulates dwell in a zone only while the foot point is inside', () => {
    // The left half of a 1000×500 frame.
    const tracker = new Tracker({ camera: 'shop', zones: [{ name: 'left', polygon: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]] }], frameWidth: 1000, frameHeight: 500 });
    // Feet at x = 150, 250, 350, 450 (inside), then 550…850 (outside), then still at 850.
    const frames = [0, 1, 2, 3, 4, 5, 6, 7, 7, 7].map((k) => [person(130 + 100 * k, 300)]);
    const updates = run(tracker, frames);
    expect(updates[3]?.tracks[0]?.dwell).toEqual({ left: 1500 });
    expect(updates[3]?.tracks[0]?.zones).toEqual(['left']);
    const end = updates[9]?.tracks[0];
    expect(end?.dwell).toEqual({ left: 1500 });
    expect(end?.zones).toEqual([]);
    expect(end?.age).toBe(4500);
  });

  it('starts counting dwell at the first observation inside the zone, not on entry from outside', () => {
    const tracker = new Tracker({ camera: 'shop', zones: [{ name: 'left', polygon: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]] }], frameWidth: 1000, frameHeight: 500 });
    // Feet at x = 650, 550 (outside), then 450, 350 (inside).
    const updates = run(tracker, [6, 5, 4, 3].map((k) => [person(30 + 100 * k, 300)]));
    expect(updates[1]?.tracks[0]?.dwell).toEqual({});
    expect(updates[2]?.tracks[0]?.dwell).toEqual({ left: 0 });
    expect(updates[3]?.tracks[0]?.dwell).toEqual({ left: 500 });
  });

  it('counts dwell across a missed frame when the object was inside before and after', () => {
    const tracker = new Tracker({ camera: 'shop', zones: [{ name: 'all', polygon: [[0, 0], [1, 0], [1, 1], [0, 1]] }], frameWidth: 1000, frameHeight: 500 });
    const updates = run(tracker, [[person(100, 100)], [person(100, 100)], [], [person(100, 100)]]);
    expect(updates[3]?.tracks[0]?.dwell).toEqual({ all: 1500 });
  });

  it('hands out stable ids per camera', () => {
    const a = new Tracker({ camera: 'cam-a' });
    const b = new Tracker({ camera: 'cam-b' });
    const frames = [[person(100, 100)], [person(104, 100)], [person(108, 100), person(600, 100)], [person(112, 100), person(604, 100)], [person(116, 100), person(608, 100)]];
    const ua = run(a, frames);
    const ub = run(b, frames);
    expect(ua[1]?.started.map((t) => t.id)).toEqual(['cam-a:1']);
    expect(ub[1]?.started.map((t) => t.id)).toEqual(['cam-b:1']);
    expect(ua[3]?.started.map((t) => t.id)).toEqual(['cam-a:2']);
    expect(ua[4]?.updated.map((t) => t.id)).toEqual(['cam-a:1', 'cam-a:2']);
    expect(ua[4]?.updated.map((t) => t.box.x)).toEqual([116, 608]);
    expect(a.camera).toBe('cam-a');
  });

  it('ends a track once it has gone unmatched for longer than maxAgeMs', () => {
    const tracker = new Tracker({ camera: 'hall', maxAgeMs: 3000 });
    // Seen at 0, 500, 1000; then nothing.
    const frames: TrackerDetection[][] = [[person(100, 100)], [person(100, 100)], [person(100, 100)], [], [], [], [], [], [], [], []];
    const updates = run(tracker, frames);
    const endedAt = updates.findIndex((u) => u.ended.length > 0);
    expect(endedAt * STEP).toBe(4500); // 3500 ms after the last match; at 4000 (3000 ms) it is still lost
    expect(updates[endedAt]?.ended).toMatchObject([{ id: 'hall:1', state: 'lost', lastSeen: 1000, misses: 7 }]);
    expect(updates[endedAt]?.tracks).toEqual([]);
    expect(updates[endedAt - 1]?.tracks).toMatchObject([{ id: 'hall:1', state: 'lost' }]);
    expect(tracker.toJSON()).toMatchObject({ endedTotal: 1, activeTracks: 0 });
  });

  it('gives a stationary bag a speed of about 0 and a walking person their speed', () => {
    const tracker = new Tracker({ camera: 'platform' });
    const jitter = [0, 1, -1, 1, 0, -1, 1, 0, -1, 0];
    const frames = jitter.map((j, i) => [
      { x: 400 + j, y: 300 - j, w: 30, h: 40, label: 'suitcase', score: 0.7 },
      person(100 + 30 * i, 100), // 60 px/s
    ]);
    const last = run(tracker, frames)[9]?.tracks ?? [];
    const bag = last.find((t) => t.label === 'suitcase');
    const walker = last.find((t) => t.label === 'person');
    expect(bag?.hits).toBe(10);
    expect(bag?.speed).toBeLessThan(3);
    expect(walker?.speed).toBeCloseTo(60, 0);
  });

  it('matches only within a class', () => {
    const tracker = new Tracker({ camera: 'hall' });
    const updates = run(tracker, [[person(100, 100)], [person(100, 100)], [{ x: 100, y: 100, w: 40, h: 100, label: 'backpack', score: 0.9 }]]);
    expect(updates[2]?.tracks).toMatchObject([{ id: 'hall:1', label: 'person', state: 'lost' }]);
    expect(tracker.toJSON().tentativeTracks).toBe(1);
  });

  it('extends a followed track with low-score detections but never starts one from them (ByteTrack)', () => {
    const tracker = new Tracker({ camera: 'hall' });
    const updates = run(tracker, [
      [person(100, 100, 0.9), person(500, 100, 0.3)],
      [person(105, 100, 0.9), person(500, 100, 0.3)],
      [person(110, 100, 0.3), person(500, 100, 0.3)], // partly occluded: score drops
      [person(115, 100, 0.35), person(500, 100, 0.3)],
      [person(120, 100, 0.05)], // below lowScore: ignored
    ]);
    expect(updates[3]?.updated).toMatchObject([{ id: 'hall:1', score: 0.35, hits: 4 }]);
    expect(updates[4]?.tracks).toMatchObject([{ id: 'hall:1', state: 'lost' }]);
    expect(tracker.toJSON()).toMatchObject({ startedTotal: 1, tentativeTracks: 0 });
  });

  it('ignores a frame that is not newer than the last one (redelivery)', () => {
    const tracker = new Tracker({ camera: 'hall' });
    run(tracker, [[person(100, 100)], [person(100, 100)]]);
    const again = tracker.update({ at: STEP, detections: [person(300, 300)] });
    expect(again.stale).toBe(true);
    expect(again.tracks).toMatchObject([{ id: 'hall:1', hits: 2 }]);
    expect(tracker.toJSON()).toMatchObject({ frames: 2, staleFrames: 1, tentativeTracks: 0 });
  });

  it('caps the path, ends everything on endAll, and rejects bad options with typed errors', () => {
    const tracker = new Tracker({ camera: 'hall', pathLength: 3 });
    const updates = run(tracker, [0, 1, 2, 3, 4].map((i) => [person(100 + i, 100)]));
    expect(updates[4]?.tracks[0]?.path.map((p) => p.at)).toEqual([1000, 1500, 2000]);
    expect(tracker.endAll(2500)).toMatchObject([{ id: 'hall:1', age: 2500 }]);
    expect(tracker.tracks()).toEqual([]);
    expect(() => new Tracker({ camera: '' })).toThrow(TrackerOptionsError);
    expect(() => new Tracker({ camera: 'x', minHits: 0 })).toThrow(TrackerOptionsError);
    expect(() => new Tracker({ camera: 'x', zones: [{ name: 'z', polygon: [[0, 0], [1, 0], [1, 1]] }] }).update({ at: 0, detections: [] })).toThrow(TrackerOptionsError);
  });
});
