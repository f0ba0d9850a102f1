import { describe, expect, it } from 'vitest';
import { QUERY_PLAN_VERSION, type AnomalyRule, type CarriedItem, type LineConfig, type QueryPlan, type SceneTrack } from '@chronotrace/contracts';
import { AnomalyEngine, compileTimeWindow, siteOfCamera, type AnomalyEvent, type AnomalySite } from '../../src/index';

const W = 640;
const H = 480;
const T0 = Date.UTC(2026, 11, 2, 12, 0, 0);
const STEP = 500;

interface TrackSpec {
  id: string;
  label?: string;
  /** Foot point in pixels. */
  x: number;
  y: number;
  zones?: string[];
  firstSeen?: number;
  velocity?: { x: number; y: number };
  carried?: CarriedItem[];
}

function track(s: TrackSpec, at: number): SceneTrack {
  const v = s.velocity ?? { x: 0, y: 0 };
  return {
    id: `cam:${s.id}`,
    camera: 'cam',
    label: s.label ?? 'person',
    box: { x: s.x - 20, y: s.y - 100, w: 40, h: 100 },
    score: 0.9,
    firstSeen: s.firstSeen ?? T0,
    lastSeen: at,
    hits: 10,
    misses: 0,
    age: at - (s.firstSeen ?? T0),
    path: [],
    velocity: v,
    speed: Math.hypot(v.x, v.y),
    dwell: {},
    zones: s.zones ?? [],
    state: 'confirmed',
    ...(s.carried ? { carried: s.carried, carrying: s.carried.map((c) => c.label) } : {}),
  };
}

function plan(anomaly: AnomalyRule, over: Partial<QueryPlan> = {}): QueryPlan {
  return { version: QUERY_PLAN_VERSION, subject: { classes: ['person'] }, anomaly, ...over };
}

function site(over: Partial<AnomalySite> = {}): AnomalySite {
  return { lines: [], schedule: () => null, clock: (at) => ({ day: new Date(at).getUTCDay(), minutes: new Date(at).getUTCHours() * 60 + new Date(at).getUTCMinutes() }), ...over };
}

/** Runs frames (frame i at T0 + i × STEP) and returns the index of each frame an event fired on. */
function run(engine: AnomalyEngine, frames: TrackSpec[][]): { frame: number; event: AnomalyEvent }[] {
  const out: { frame: number; event: AnomalyEvent }[] = [];
  frames.forEach((specs, i) => {
    const at = T0 + i * STEP;
    for (const event of engine.evaluate({ camera: 'cam', at, width: W, height: H, tracks: specs.map((s) => track(s, at)) })) out.push({ frame: i, event });
  });
  return out;
}

const times = (n: number, f: (i: number) => TrackSpec[]): TrackSpec[][] => Array.from({ length: n }, (_, i) => f(i));

describe('AnomalyEngine: loitering', () => {
  it('fires once per visit, counted from entering the zone, not from the total time in it', () => {
    const e = new AnomalyEngine(() => site());
    e.arm({ id: 'loiter', version: 1, plan: plan({ type: 'loitering', minSeconds: 2 }, { zones: ['gate'] }) });
    // In view from frame 0, in the gate from frame 3 to 8, out 9–10, back from 11 to 20.
    const inGate = (i: number): boolean => (i >= 3 && i <= 8) || i >= 11;
    const fired = run(e, times(21, (i) => [{ id: 'p1', x: 100, y: 300, zones: inGate(i) ? ['gate'] : [] }]));
    // 2 s after entering: frame 3 + 4, then 11 + 4 (the first visit's seconds do not count towards the second).
    expect(fired.map((f) => f.frame)).toEqual([7, 15]);
    expect(fired[0]!.event).toMatchObject({ kind: 'loitering', queryId: 'loiter', anomaly: { type: 'loitering', measured: { dwellSeconds: 2, thresholdSeconds: 2, zone: 'gate' } } });
    expect(fired[0]!.event.reason).toMatch(/loitering in zone "gate" for 2 s/);
    expect(fired[0]!.event.tracks.map((t) => t.trackId)).toEqual(['cam:p1']);
  });
});

describe('AnomalyEngine: crowd formation', () => {
  it('fires on the frame the count jumps R above its baseline, once per episode (no flapping), and again after it clears', () => {
    const e = new AnomalyEngine(() => site());
    e.arm({ id: 'crowd', version: 1, plan: plan({ type: 'crowd', risePerMinute: 5, clearFraction: 0.5 }, { zones: ['entrance'] }) });
    // Counts per frame: 2 for 70 s (the baseline, past the minute of warm-up), then 7, flickering 6/7, then
    // 2 (clears: ≤ 2 + 2.5), then 7 again.
    const counts: number[] = [...Array(140).fill(2), 7, 6, 7, 6, 7, 6, 7, 7, 2, 2, 2, 7, 7];
    const people = (n: number): TrackSpec[] => Array.from({ length: n }, (_, k) => ({ id: `p${k}`, x: 50 + k * 40, y: 300, zones: ['entrance'] }));
    const fired = run(e, counts.map(people));
    expect(fired.map((f) => f.frame)).toEqual([140, 151]);
    expect(fired[0]!.event).toMatchObject({ kind: 'crowd', count: 7, anomaly: { type: 'crowd', measured: { count: 7, baseline: 2, risePerMinute: 5, threshold: 5 } } });
    expect(fired[0]!.event.tracks).toHaveLength(7);
  });

  it('does not fire while it has less than a minute of history, nor for a slow rise', () => {
    const e = new AnomalyEngine(() => site());
    e.arm({ id: 'crowd', version: 1, plan: plan({ type: 'crowd', risePerMinute: 5, clearFraction: 0.5 }) });
    const people = (n: number): TrackSpec[] => Array.from({ length: n }, (_, k) => ({ id: `p${k}`, x: 50 + k * 40, y: 300 }));
    // A jump in the first minute; then one more person every 20 s (3 per minute): never 5 within a minute.
    const counts = [...Array(10).fill(1), ...Array(110).fill(8), ...Array.from({ length: 600 }, (_, i) => 1 + Math.floor(i / 40))];
    expect(run(e, counts.map(people))).toEqual([]);
  });
});

describe('AnomalyEngine: object abandonment', () => {
  it('fires when a bag stands alone minSeconds, naming and showing the person it was carried by', () => {
    const e = new AnomalyEngine(() => site());
    e.arm({ id: 'bag', version: 1, plan: plan({ type: 'abandoned', minSeconds: 3, distance: 0.15 }, { subject: { classes: ['backpack', 'handbag', 'suitcase'] } }) });
    const frames = times(30, (i) => {
      // The owner walks with the bag to x = 300 (frames 0–4), puts it down and walks away to the right.
      const px = i <= 4 ? 200 + i * 25 : 300 + (i - 4) * 30;
      const bag: TrackSpec = { id: 'b1', label: 'backpack', x: i <= 4 ? px : 300, y: 320 };
      const owner: TrackSpec = { id: 'p1', x: px, y: 320, ...(i <= 4 ? { carried: [{ trackId: 'cam:b1', label: 'backpack', overlap: 0.8, colors: [] }] } : {}) };
      return [owner, bag];
    });
    const fired = run(e, frames);
    // Within 0.15 × 480 = 72 px of the bag until frame 6 (x = 360): alone from frame 7's view of it, 3 s = 6 frames later.
    expect(fired.map((f) => f.frame)).toEqual([12]);
    const ev = fired[0]!.event;
    expect(ev).toMatchObject({ kind: 'abandoned', anomaly: { type: 'abandoned', ownerTrackId: 'cam:p1', measured: { thresholdSeconds: 3 } } });
    expect(ev.tracks.map((t) => t.trackId)).toEqual(['cam:b1', 'cam:p1']);
    expect(ev.reason).toMatch(/backpack left unattended .* last carried by cam:p1$/);
  });

  it('does not fire while a person stands by the bag, nor again once it is picked up', () => {
    const e = new AnomalyEngine(() => site());
    e.arm({ id: 'bag', version: 1, plan: plan({ type: 'abandoned', minSeconds: 3, distance: 0.15 }, { subject: { classes: ['suitcase'] } }) });
    const frames = times(40, () => [
      { id: 'p1', x: 330, y: 320 },
      { id: 's1', label: 'suitcase', x: 300, y: 320 },
    ]);
    expect(run(e, frames)).toEqual([]);
  });
});

describe('AnomalyEngine: after hours', () => {
  it('fires once per track in a zone while its schedule is closed, with the local time', () => {
    const hours = compileTimeWindow({ after: '08:00', before: '18:00' });
    const e = new AnomalyEngine(() => site({ schedule: (zone) => (zone === 'warehouse' ? hours : null) }));
    e.arm({ id: 'night', version: 1, plan: plan({ type: 'after-hours' }, { zones: ['warehouse'] }) });
    const at = (h: number, i: number): number => Date.UTC(2026, 11, 2, h, 0, 0) + i * STEP;
    const frame = (h: number, i: number, zones: string[]) => e.evaluate({ camera: 'cam', at: at(h, i), width: W, height: H, tracks: [track({ id: 'p1', x: 100, y: 300, zones }, at(h, i))] });
    expect(frame(10, 0, ['warehouse'])).toEqual([]);
    expect(frame(19, 0, ['yard'])).toEqual([]);
    const [ev] = frame(19, 1, ['warehouse']);
    expect(ev).toMatchObject({ kind: 'after-hours', anomaly: { type: 'after-hours', measured: { localTime: '19:00', zone: 'warehouse' } } });
    expect(frame(19, 2, ['warehouse'])).toEqual([]);
  });
});

describe('AnomalyEngine: line crossing', () => {
  // A vertical line down the middle: 'in' is from its left (looking from top to bottom: the image's right) to its right.
  const gate: LineConfig = { name: 'gate', from: [0.5, 0], to: [0.5, 1] };

  it('fires on each crossing in the rule’s direction, and counts both directions', () => {
    const e = new AnomalyEngine(() => site({ lines: [gate] }));
    e.arm({ id: 'in', version: 1, plan: plan({ type: 'line', line: 'gate', direction: 'in' }) });
    // p1 walks right to left (in), p2 left to right (out).
    const fired = run(e, times(10, (i) => [
      { id: 'p1', x: 400 - i * 20, y: 300 },
      { id: 'p2', x: 240 + i * 20, y: 200 },
    ]));
    // p1's foot crosses x = 320 between frames 4 (320: on the line) … frame 5 (300).
    expect(fired.map((f) => [f.frame, f.event.tracks[0]!.trackId, f.event.anomaly.direction])).toEqual([[5, 'cam:p1', 'in']]);
    expect(e.lineCounts()).toEqual({ cam: { gate: { in: 1, out: 1 } } });
  });

  it('counts crossings in a window: fires when more than n crossed, once until the count falls back', () => {
    const e = new AnomalyEngine(() => site({ lines: [gate] }));
    e.arm({ id: 'many', version: 1, plan: plan({ type: 'line', line: 'gate', direction: 'in', count: { op: '>', n: 2, windowSeconds: 5 } }) });
    // One person crosses inbound every 2 frames (1 s): each appears at x 330 then moves to 310.
    const frames = times(40, (i) => (i < 20 ? [{ id: `p${Math.floor(i / 2)}`, x: i % 2 === 0 ? 330 : 310, y: 300 }] : []));
    const fired = run(e, frames);
    // The 3rd crossing (frame 5) makes 3 > 2 in 5 s; it holds while people keep crossing; no second alert.
    expect(fired.map((f) => f.frame)).toEqual([5]);
    expect(fired[0]!.event).toMatchObject({ kind: 'line', count: 3, anomaly: { line: 'gate', direction: 'in', measured: { crossings: 3, windowSeconds: 5, threshold: 2 } } });
  });
});

describe('AnomalyEngine: unusual movement', () => {
  it('flags a track far faster than the baseline, or going a way almost no one goes, only once the baseline is long enough', () => {
    const e = new AnomalyEngine(() => site());
    e.arm({ id: 'odd', version: 1, plan: plan({ type: 'unusual', z: 4, minHistory: 100 }) });
    // 60 frames of walkers east at 48–56 px/s (0.1–0.117 frame heights/s): the baseline.
    const walkers = times(60, (i) => [0, 1, 2].map((k) => ({ id: `w${k}`, x: 100 + k * 50, y: 300, velocity: { x: 48 + ((i + k) % 5) * 2, y: 0 } })));
    // Then a runner east at 300 px/s, and a walker going west at walking speed.
    const runner = [{ id: 'r1', x: 100, y: 200, velocity: { x: 300, y: 0 } }];
    const west = [{ id: 'v1', x: 300, y: 200, velocity: { x: -50, y: 0 } }];
    const early = new AnomalyEngine(() => site());
    early.arm({ id: 'odd', version: 1, plan: plan({ type: 'unusual', z: 4, minHistory: 1000 }) });
    expect(run(early, [...walkers, runner, west])).toEqual([]);
    const fired = run(e, [...walkers, runner, runner, west]);
    expect(fired.map((f) => [f.frame, f.event.tracks[0]!.trackId, f.event.anomaly.measured.feature])).toEqual([
      [60, 'cam:r1', 'speed'],
      [62, 'cam:v1', 'direction'],
    ]);
    expect(fired[0]!.event.reason).toMatch(/speed z = \d+/);
  });
});

describe('AnomalyEngine: arming', () => {
  it('re-arms on a new version (state afresh), refuses a plan without a rule, and disarms', () => {
    const e = new AnomalyEngine(() => site());
    const p = plan({ type: 'loitering', minSeconds: 1 });
    expect(e.arm({ id: 'a', version: 1, plan: p })).toBe('armed');
    expect(e.arm({ id: 'a', version: 1, plan: p })).toBe('unchanged');
    expect(e.arm({ id: 'a', version: 2, plan: p })).toBe('replaced');
    expect(() => e.arm({ id: 'b', version: 1, plan: { version: QUERY_PLAN_VERSION, subject: { classes: ['person'] } } })).toThrow(/no anomaly rule/);
    expect(e.disarm('a')).toBe(true);
    expect(e.size).toBe(0);
    expect(run(e, times(5, () => [{ id: 'p', x: 1, y: 1 }]))).toEqual([]);
  });
});

describe('siteOfCamera', () => {
  it('reads opening hours from the camera (a zone’s own schedule, else the camera’s) in its time zone, and its lines', () => {
    const camera = {
      timeZone: 'Europe/Paris',
      lines: [{ name: 'gate', from: [0.5, 0] as [number, number], to: [0.5, 1] as [number, number] }],
      schedule: 'office',
      zones: [
        { name: 'warehouse', polygon: [[0, 0], [1, 0], [1, 1]] as [number, number][], schedule: 'night-shift' },
        { name: 'lobby', polygon: [[0, 0], [1, 0], [1, 1]] as [number, number][] },
      ],
      schedules: [
        { name: 'office', days: [1, 2, 3, 4, 5], from: '08:00', to: '18:00' },
        { name: 'night-shift', days: [0, 1, 2, 3, 4, 5, 6], from: '22:00', to: '06:00' },
      ],
    };
    const s = siteOfCamera(camera);
    expect(s.lines.map((l) => l.name)).toEqual(['gate']);
    // Wednesday 2 Dec 2026, 18:30 UTC = 19:30 in Paris: the office is closed, the night shift not on yet.
    const e = new AnomalyEngine(() => s);
    e.arm({ id: 'ah', version: 1, plan: plan({ type: 'after-hours' }, { zones: ['warehouse', 'lobby'] }) });
    const at = Date.UTC(2026, 11, 2, 18, 30);
    const frame = (zones: string[], id: string) => e.evaluate({ camera: 'cam', at, width: W, height: H, tracks: [track({ id, x: 100, y: 300, zones }, at)] });
    expect(s.clock(at)).toEqual({ day: 3, minutes: 19 * 60 + 30 });
    expect(frame(['lobby'], 'p1').map((x) => x.anomaly.measured)).toEqual([{ localTime: '19:30', zone: 'lobby' }]);
    expect(frame(['warehouse'], 'p2').map((x) => x.anomaly.measured)).toEqual([{ localTime: '19:30', zone: 'warehouse' }]);
    // 23:00 in Paris: the warehouse's night shift is on.
    const late = Date.UTC(2026, 11, 2, 22, 0);
    expect(e.evaluate({ camera: 'cam', at: late, width: W, height: H, tracks: [track({ id: 'p3', x: 100, y: 300, zones: ['warehouse'] }, late)] })).toEqual([]);
    expect(siteOfCamera(undefined).schedule('x')).toBeNull();
  });
});
