import { COCO_CLASSES, type QueryPlan } from '@chronotrace/contracts';
import { describe, expect, it } from 'vitest';
import {
  InvalidArmedQueryError,
  TrackMatcher,
  TrackMatcherOptionsError,
  type LocalClock,
  type MatchEvent,
  type MatchTrack,
} from '../../src/matching/index';
import { T0, colors, plan, track } from './fixtures';

const person = { classes: ['person'] } satisfies QueryPlan['subject'];
/** Frames of a 2 fps camera. */
const STEP = 500;
const utcClock: LocalClock = (at) => {
  const d = new Date(at);
  return { day: d.getUTCDay(), minutes: d.getUTCHours() * 60 + d.getUTCMinutes() };
};

function matcher(queries: Record<string, QueryPlan> = {}, options: ConstructorParameters<typeof TrackMatcher>[0] = {}): TrackMatcher {
  const m = new TrackMatcher({ clock: utcClock, ...options });
  for (const [id, p] of Object.entries(queries)) m.arm({ id, plan: p, version: 1 });
  return m;
}

/** Runs one frame per entry (tracks of camera 'lobby' unless given), 500 ms apart from `start`; returns the events with their frame index. */
function run(m: TrackMatcher, frames: MatchTrack[][], start = T0, camera = 'lobby'): (MatchEvent & { frame: number })[] {
  const out: (MatchEvent & { frame: number })[] = [];
  frames.forEach((tracks, i) => {
    for (const e of m.evaluate({ camera, at: start + i * STEP, tracks })) out.push({ ...e, frame: i });
  });
  return out;
}

const repeat = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

describe('TrackMatcher hysteresis', () => {
  it('fires on the third of three matching frames (3 of 5) and not before', () => {
    const m = matcher({ q: plan(person) });
    const events = run(m, repeat(3, () => [track('lobby:1')]));
    expect(events.map((e) => e.frame)).toEqual([2]);
    const e = events[0]!;
    expect(e).toMatchObject({ queryId: 'q', planVersion: 1, kind: 'track', camera: 'lobby', at: T0 + 2 * STEP });
    expect(e.tracks).toEqual([
      expect.objectContaining({ trackId: 'lobby:1', label: 'person', box: { x: 100, y: 100, w: 50, h: 120 }, score: 0.9, colorScore: 1 }),
    ]);
    expect(e.scores).toEqual({ hysteresis: 3 / 5, detection: 0.9, color: 1 });
    expect(e.reason).toBe('person: 3 of the last 5 frames');
  });

  it('fires once per track and query however long the track keeps matching', () => {
    const m = matcher({ q: plan(person) });
    expect(run(m, repeat(40, () => [track('lobby:1')]))).toHaveLength(1);
    expect(m.toJSON()).toMatchObject({ frames: 40, events: 1, queries: 1, pairs: 1, tracks: 1 });
  });

  it('never fires for a track that matches on one frame in three (below 3 of 5)', () => {
    const m = matcher({ q: plan(person, { zones: ['entrance'] }) });
    const frames = repeat(30, (i) => [track('lobby:1', { zones: i % 3 === 0 ? ['entrance'] : [] })]);
    expect(run(m, frames)).toEqual([]);
  });

  it('counts the frames a colour is missing as misses (the colour index does not skip them): red 1 in 3 never fires', () => {
    const red = { classes: ['person'], colors: [{ part: 'upper', colors: ['red'] }] } satisfies QueryPlan['subject'];
    const m = matcher({ q: plan(red) }, { hysteresis: { n: 2, m: 3 } });
    // Red on frames 0, 3, 6, …: never 2 of the last 3; blue between (the track shows no red at all then).
    const frames = repeat(30, (i) => [track('lobby:1', { attributes: colors({ upper: [[i % 3 === 0 ? 'red' : 'blue', 0.8]] }) })]);
    expect(run(m, frames)).toEqual([]);
    // Red on two frames in a row fires on the second.
    const m2 = matcher({ q: plan(red) }, { hysteresis: { n: 2, m: 3 } });
    const frames2 = repeat(6, (i) => [track('lobby:1', { attributes: colors({ upper: [[i === 0 || i === 4 || i === 5 ? 'red' : 'blue', 0.8]] }) })]);
    expect(run(m2, frames2).map((e) => e.frame)).toEqual([5]);
  });

  it('fires for a track that matches on 3 of 5 frames with gaps, on a matching frame', () => {
    const m = matcher({ q: plan(person, { zones: ['entrance'] }) });
    const pattern = [1, 0, 1, 0, 1];
    const events = run(m, pattern.map((p) => [track('lobby:1', { zones: p ? ['entrance'] : [] })]));
    expect(events.map((e) => e.frame)).toEqual([4]);
  });

  it('honours other hysteresis settings (1 of 1 fires at once)', () => {
    const m = matcher({ q: plan(person) }, { hysteresis: { n: 1, m: 1 } });
    expect(run(m, [[track('lobby:1')]])).toHaveLength(1);
  });

  it('forgets a fired track once it leaves the frame, so the same id seen again can fire again', () => {
    const m = matcher({ q: plan(person) }, { cooldownMs: 0 });
    const frames = [...repeat(4, () => [track('lobby:1')]), [], ...repeat(4, () => [track('lobby:1')])];
    expect(run(m, frames).map((e) => e.frame)).toEqual([2, 7]);
    expect(m.toJSON().tracks).toBe(1);
  });

  it('does not evaluate tentative or lost tracks, and keeps a lost track\'s state while it is reported', () => {
    const m = matcher({ q: plan(person) }, { cooldownMs: 0 });
    const frames = [
      [track('lobby:1', { state: 'tentative' })],
      [track('lobby:1')],
      [track('lobby:1')],
      [track('lobby:1', { state: 'lost' })],
      [track('lobby:1')],
    ];
    expect(run(m, frames).map((e) => e.frame)).toEqual([4]);
  });
});

describe('TrackMatcher cooldown', () => {
  it("holds back a second track's event on the same camera and query within cooldownMs and lets it fire after", () => {
    const m = matcher({ q: plan(person) });
    const a = run(m, repeat(3, () => [track('lobby:1')]));
    expect(a).toHaveLength(1);
    // A second person matches from 10 s later, for 70 s.
    const start = T0 + 10_000;
    const b = run(m, repeat(140, () => [track('lobby:2')]), start);
    expect(b).toHaveLength(1);
    expect(b[0]!.tracks[0]!.trackId).toBe('lobby:2');
    expect(b[0]!.at).toBe(T0 + 2 * STEP + 60_000);
    expect(m.toJSON().suppressed).toBeGreaterThan(0);
  });

  it('keeps cooldowns per camera: another camera fires at once', () => {
    const m = matcher({ q: plan(person) });
    expect(run(m, repeat(3, () => [track('lobby:1')]))).toHaveLength(1);
    expect(run(m, repeat(3, () => [track('street:1', { camera: 'street' })]), T0 + 1000, 'street')).toHaveLength(1);
  });

  it('queries with the same conditions share their evaluation but keep their own hysteresis, firing and cooldown', () => {
    const m = matcher({ q1: plan(person), q2: plan(person) });
    const first = run(m, repeat(3, () => [track('lobby:1')]));
    expect(first.map((e) => e.queryId).sort()).toEqual(['q1', 'q2']);
    // A third with the same conditions, armed while the track is in view, starts its own window.
    m.arm({ id: 'q3', plan: plan(person), version: 1 });
    const later = run(m, repeat(3, () => [track('lobby:1')]), T0 + 1500);
    expect(later.map((e) => [e.queryId, e.frame])).toEqual([['q3', 2]]);
    // Disarming one leaves the others' state alone: the track has fired for q2 and stays fired.
    m.disarm('q1');
    expect(run(m, repeat(3, () => [track('lobby:1')]), T0 + 3000)).toEqual([]);
  });

  it('keeps cooldowns per query: a second query fires on the same camera at once', () => {
    const m = matcher({ q1: plan(person) });
    expect(run(m, repeat(3, () => [track('lobby:1')]))).toHaveLength(1);
    m.arm({ id: 'q2', plan: plan(person, { zones: ['entrance'] }), version: 1 });
    const events = run(m, repeat(3, () => [track('lobby:2', { zones: ['entrance'] })]), T0 + 2000);
    expect(events.map((e) => [e.queryId, e.tracks[0]!.trackId])).toEqual([['q2', 'lobby:2']]);
  });
});

describe('TrackMatcher conditions', () => {
  const redUpperBlueLower = plan({
    classes: ['person'],
    colors: [
      { part: 'upper', colors: ['red'] },
      { part: 'lower', colors: ['blue'] },
    ],
  });

  it('matches classes only: a car query ignores people and a camera filter ignores other cameras', () => {
    const m = matcher({ car: plan({ classes: ['car', 'truck'] }), gate: plan(person, { cameras: ['gate'] }) });
    const events = run(m, repeat(3, () => [track('lobby:1'), track('lobby:2', { label: 'truck' })]));
    expect(events.map((e) => [e.queryId, e.tracks[0]!.trackId])).toEqual([['car', 'lobby:2']]);
    expect(run(m, repeat(3, () => [track('gate:1', { camera: 'gate' })]), T0, 'gate').map((e) => e.queryId)).toEqual(['gate']);
  });

  it('needs every colour constraint, counting a colour present anywhere in the part\'s colours', () => {
    const m = matcher({ q: redUpperBlueLower }, { cooldownMs: 0 });
    const frames = repeat(3, () => [
      // red dominant up, blue second below: matches
      track('lobby:1', { attributes: colors({ upper: [['red', 0.7]], lower: [['black', 0.6], ['blue', 0.3]] }) }),
      // no blue below
      track('lobby:2', { attributes: colors({ upper: [['red', 0.8]], lower: [['black', 0.9]] }) }),
      // lower part not measured (out of frame)
      track('lobby:3', { attributes: colors({ upper: [['red', 0.8]] }) }),
      // no attributes at all
      track('lobby:4'),
    ]);
    const events = run(m, frames);
    expect(events.map((e) => e.tracks[0]!.trackId)).toEqual(['lobby:1']);
    expect(events[0]!.tracks[0]!.colorScore).toBe(0.3);
    expect(events[0]!.reason).toBe('person wearing red (upper) wearing blue (lower): 3 of the last 5 frames');
  });

  it('takes the colours of one constraint as alternatives', () => {
    const m = matcher({ q: plan({ classes: ['car'], colors: [{ part: 'any', colors: ['red', 'blue'] }] }) }, { cooldownMs: 0 });
    const frames = repeat(3, () => [
      track('lobby:1', { label: 'car', attributes: colors({ any: [['blue', 0.9]] }) }),
      track('lobby:2', { label: 'car', attributes: colors({ any: [['white', 0.9]] }) }),
    ]);
    expect(run(m, frames).map((e) => e.tracks[0]!.trackId)).toEqual(['lobby:1']);
  });

  it('needs every carried object, and a coloured one needs the carried box\'s colour', () => {
    const m = matcher(
      {
        backpack: plan({ classes: ['person'], carrying: [{ classes: ['backpack'] }] }),
        redBackpack: plan({ classes: ['person'], carrying: [{ classes: ['backpack'], colors: ['red'] }] }),
        both: plan({ classes: ['person'], carrying: [{ classes: ['backpack'] }, { classes: ['suitcase', 'handbag'] }] }),
      },
      { cooldownMs: 0 },
    );
    const frames = repeat(3, () => [
      track('lobby:1', { carrying: ['backpack'] }),
      track('lobby:2', { carried: [{ trackId: 'lobby:9', label: 'backpack', overlap: 0.8, colors: ['red', 'black'] }, { trackId: 'lobby:8', label: 'handbag', overlap: 1, colors: [] }] }),
      track('lobby:3'),
    ]);
    const fired = run(m, frames).map((e) => `${e.queryId}:${e.tracks[0]!.trackId}`).sort();
    expect(fired).toEqual(['backpack:lobby:1', 'backpack:lobby:2', 'both:lobby:2', 'redBackpack:lobby:2']);
  });

  it('"without a backpack" fires for a person never seen with one over the window, and not while one was seen', () => {
    const m = matcher({ q: plan({ classes: ['person'], carrying: [{ classes: ['backpack'], negated: true }] }) }, { cooldownMs: 0 });
    const frames = repeat(8, (i) => [
      track('lobby:1'),
      track('lobby:2', { carrying: ['backpack'] }),
      // backpack seen on the first frame only: fires once that frame is out of the 5-frame window
      track('lobby:3', { carrying: i === 0 ? ['backpack'] : [] }),
    ]);
    const events = run(m, frames);
    expect(events.map((e) => [e.tracks[0]!.trackId, e.frame])).toEqual([
      ['lobby:1', 2],
      ['lobby:3', 5],
    ]);
    expect(events[0]!.reason).toBe('person not carrying backpack: 3 of the last 5 frames');
  });

  it('needs the track in one of the zones and its dwell there', () => {
    const m = matcher({ q: plan(person, { zones: ['entrance', 'Loading Bay'], dwell: { minSeconds: 60 } }) }, { cooldownMs: 0 });
    // lobby:3 reaches 60 s in the bay on frame 2 and holds on frames 2, 3, 4
    const frames = repeat(5, (i) => [
      track('lobby:1', { zones: ['crossing'], dwell: { crossing: 600_000 } }),
      track('lobby:2', { zones: ['entrance'], dwell: { entrance: 30_000 + i * STEP } }),
      track('lobby:3', { zones: ['Loading Bay'], dwell: { 'Loading Bay': 59_000 + i * STEP } }),
      // long in the entrance before, now in the crossing: dwell counts only in a zone it is in
      track('lobby:4', { zones: ['crossing'], dwell: { entrance: 600_000, crossing: 1000 } }),
    ]);
    const events = run(m, frames);
    expect(events.map((e) => [e.tracks[0]!.trackId, e.frame])).toEqual([['lobby:3', 4]]);
    expect(events[0]!.tracks[0]).toMatchObject({ zones: ['Loading Bay'], dwellSeconds: 61 });
    expect(events[0]!.reason).toBe('person in zone "entrance" or "Loading Bay" for 61 s (≥ 60 s): 3 of the last 5 frames');
  });

  it('without zones, dwell is the time since the track was first seen', () => {
    const m = matcher({ q: plan(person, { dwell: { minSeconds: 10 } }) }, { cooldownMs: 0 });
    const frames = repeat(30, () => [track('lobby:1', { firstSeen: T0 - 5000 }), track('lobby:2', { firstSeen: T0 + 5000 })]);
    const events = run(m, frames);
    // lobby:1 reaches 10 s at frame 10 and needs 3 such frames: fires on frame 12
    expect(events.map((e) => [e.tracks[0]!.trackId, e.frame])).toEqual([['lobby:1', 12]]);
  });
});

describe('TrackMatcher time windows', () => {
  const at = (y: number, mo: number, d: number, h: number, mi = 0) => Date.UTC(y, mo - 1, d, h, mi);
  function firesOn(p: QueryPlan, start: number, clock: LocalClock = utcClock): boolean {
    const m = new TrackMatcher({ clock });
    m.arm({ id: 'q', plan: p, version: 1 });
    return run(m, repeat(3, () => [track('lobby:1')]), start).length > 0;
  }

  it('wraps a window past midnight (22:00–06:00)', () => {
    const night = plan(person, { time: { after: '22:00', before: '06:00' } });
    expect(firesOn(night, at(2024, 1, 8, 23, 0))).toBe(true);
    expect(firesOn(night, at(2024, 1, 8, 5, 58))).toBe(true);
    expect(firesOn(night, at(2024, 1, 8, 12, 0))).toBe(false);
    expect(firesOn(night, at(2024, 1, 8, 6, 0))).toBe(false);
    expect(firesOn(night, at(2024, 1, 8, 21, 59))).toBe(false);
    expect(firesOn(night, at(2024, 1, 8, 22, 0))).toBe(true);
  });

  it('treats after alone and before alone as open-ended', () => {
    expect(firesOn(plan(person, { time: { after: '22:00' } }), at(2024, 1, 8, 23, 30))).toBe(true);
    expect(firesOn(plan(person, { time: { after: '22:00' } }), at(2024, 1, 8, 1, 0))).toBe(false);
    expect(firesOn(plan(person, { time: { before: '06:00' } }), at(2024, 1, 8, 1, 0))).toBe(true);
    expect(firesOn(plan(person, { time: { before: '06:00' } }), at(2024, 1, 8, 7, 0))).toBe(false);
  });

  it('keeps to the listed days (weekends)', () => {
    const weekends = plan(person, { time: { days: [0, 6] } });
    expect(firesOn(weekends, at(2024, 1, 6, 12))).toBe(true); // Saturday
    expect(firesOn(weekends, at(2024, 1, 7, 12))).toBe(true); // Sunday
    expect(firesOn(weekends, at(2024, 1, 8, 12))).toBe(false); // Monday
  });

  it('counts the after-midnight part of a wrapping window as the day it opened on', () => {
    const fridayNight = plan(person, { time: { after: '22:00', before: '06:00', days: [5] } });
    expect(firesOn(fridayNight, at(2024, 1, 5, 23))).toBe(true); // Friday 23:00
    expect(firesOn(fridayNight, at(2024, 1, 6, 2))).toBe(true); // Saturday 02:00
    expect(firesOn(fridayNight, at(2024, 1, 5, 2))).toBe(false); // Friday 02:00 belongs to Thursday night
  });

  it('uses the process local time by default', () => {
    const m = new TrackMatcher();
    m.arm({ id: 'q', plan: plan(person, { time: { after: '22:00', before: '23:00' } }), version: 1 });
    const local = new Date(2024, 0, 8, 22, 30).getTime();
    expect(run(m, repeat(3, () => [track('lobby:1')]), local)).toHaveLength(1);
    const m2 = new TrackMatcher();
    m2.arm({ id: 'q', plan: plan(person, { time: { after: '22:00', before: '23:00' } }), version: 1 });
    expect(run(m2, repeat(3, () => [track('lobby:1')]), new Date(2024, 0, 8, 12, 0).getTime())).toHaveLength(0);
  });
});

describe('TrackMatcher count queries', () => {
  const crowd = plan(person, { count: { op: '>', n: 3 }, zones: ['entrance'] });
  const people = (n: number, zone = 'entrance') => repeat(n, (i) => track(`lobby:${i + 1}`, { zones: [zone] }));

  it('"more than 3 people in the entrance" fires once for the camera with every matching track', () => {
    const m = matcher({ crowd });
    const frames = [people(3), people(3), people(4), people(4), people(5), people(5), people(5), [...people(5), track('lobby:9', { zones: ['crossing'] })]];
    const events = run(m, frames);
    expect(events.map((e) => e.frame)).toEqual([4]);
    const e = events[0]!;
    expect(e).toMatchObject({ kind: 'count', count: 5, camera: 'lobby', queryId: 'crowd' });
    expect(e.tracks.map((t) => t.trackId)).toEqual(['lobby:1', 'lobby:2', 'lobby:3', 'lobby:4', 'lobby:5']);
    expect(e.reason).toBe('5 person (> 3) in zone "entrance": 3 of the last 5 frames');
  });

  it('clears on frames the query was not touched on: a dip shorter than the window followed by recovery fires again', () => {
    const m = matcher({ crowd }, { hysteresis: { n: 2, m: 3 }, cooldownMs: 0 });
    // crowd · empty · crowd: 2 of 3, fires · empty (1 of 3: it cleared) · crowd: 2 of 3 again, fires again
    const events = run(m, [people(4), [], people(4), [], people(4)]);
    expect(events.map((e) => e.frame)).toEqual([2, 4]);
  });

  it('does not count people outside the zone or other classes', () => {
    const m = matcher({ crowd });
    const frames = repeat(6, () => [...people(3), track('lobby:7', { zones: ['crossing'] }), track('lobby:8', { label: 'dog', zones: ['entrance'] })]);
    expect(run(m, frames)).toEqual([]);
  });

  it('fires again only after the crowd has cleared and the cooldown has passed', () => {
    const m = matcher({ crowd }, { cooldownMs: 10_000 });
    expect(run(m, repeat(10, () => people(5)))).toHaveLength(1);
    // clears for 5 frames (empty frames count as zero), back within the cooldown: held back
    expect(run(m, [...repeat(5, () => []), ...repeat(4, () => people(5))], T0 + 5000)).toHaveLength(0);
    // after the cooldown, still crowded: fires
    expect(run(m, repeat(3, () => people(5)), T0 + 20_000)).toHaveLength(1);
  });

  it('an empty camera frame counts as zero and clears a count query that is not touched', () => {
    const m = matcher({ crowd }, { cooldownMs: 0 });
    // crowd on 2 frames, gone for 3 frames, back on 1: never 3 of 5
    const frames = [people(4), people(4), [], [], [], people(4), [], []];
    expect(run(m, frames)).toEqual([]);
  });

  it('"fewer than 2 people" fires on empty frames too', () => {
    const m = matcher({ few: plan(person, { count: { op: '<', n: 2 } }) });
    const events = run(m, repeat(3, () => []));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'count', count: 0, tracks: [] });
  });

  it('counts only inside the time window', () => {
    const m = matcher({ few: plan(person, { count: { op: '<', n: 2 }, time: { after: '22:00', before: '06:00' } }) });
    expect(run(m, repeat(5, () => []))).toEqual([]); // 12:00
    expect(run(m, repeat(3, () => []), Date.UTC(2024, 0, 8, 23))).toHaveLength(1);
  });
});

describe('TrackMatcher arming', () => {
  it('stops firing once a query is disarmed', () => {
    const m = matcher({ q: plan(person) });
    run(m, repeat(2, () => [track('lobby:1')]));
    expect(m.disarm('q')).toBe(true);
    expect(m.disarm('q')).toBe(false);
    expect(run(m, repeat(5, () => [track('lobby:1')]), T0 + 1000)).toEqual([]);
    expect(m.toJSON().queries).toBe(0);
  });

  it('a new version starts afresh and its events carry the new version; the same version is a no-op', () => {
    const m = matcher({ q: plan(person) });
    expect(run(m, repeat(3, () => [track('lobby:1')]))[0]!.planVersion).toBe(1);
    expect(m.arm({ id: 'q', plan: plan(person), version: 1 })).toBe('unchanged');
    expect(run(m, repeat(3, () => [track('lobby:1')]), T0 + 1500)).toEqual([]);
    expect(m.arm({ id: 'q', plan: plan(person, { zones: ['entrance'] }), version: 2 })).toBe('replaced');
    const events = run(m, repeat(3, () => [track('lobby:1', { zones: ['entrance'] })]), T0 + 3000);
    expect(events.map((e) => [e.planVersion, e.tracks[0]!.trackId])).toEqual([[2, 'lobby:1']]);
    expect(m.armed()).toEqual([{ id: 'q', version: 2 }]);
  });

  it('a query armed after another was disarmed starts with no fired tracks of its own', () => {
    const m = matcher({ q1: plan(person) }, { cooldownMs: 0 });
    expect(run(m, repeat(3, () => [track('lobby:1')]))).toHaveLength(1);
    m.disarm('q1');
    m.arm({ id: 'q2', plan: plan(person), version: 1 });
    const events = run(m, repeat(3, () => [track('lobby:1')]), T0 + 1500);
    expect(events.map((e) => [e.queryId, e.frame])).toEqual([['q2', 2]]);
    expect(m.toJSON()).toMatchObject({ queries: 1, pairs: 1 });
  });

  it('rejects an invalid plan, an empty id and unusable options with typed errors', () => {
    const m = matcher();
    const bad = { ...plan(person), subject: { classes: [] } } as unknown as QueryPlan;
    expect(() => m.arm({ id: 'q', plan: bad, version: 1 })).toThrow(InvalidArmedQueryError);
    expect(() => m.arm({ id: '', plan: plan(person), version: 1 })).toThrow(InvalidArmedQueryError);
    expect(() => new TrackMatcher({ hysteresis: { n: 4, m: 3 } })).toThrow(TrackMatcherOptionsError);
    expect(() => new TrackMatcher({ hysteresis: { n: 1, m: 33 } })).toThrow(TrackMatcherOptionsError);
    expect(() => new TrackMatcher({ cooldownMs: -1 })).toThrow(TrackMatcherOptionsError);
  });
});

describe('TrackMatcher work per frame', () => {
  it('with 10,000 queries over 100 cameras and 10 classes, a frame evaluates only its camera\'s queries of its tracks\' classes', () => {
    const classes = COCO_CLASSES.slice(0, 10);
    const m = new TrackMatcher({ clock: utcClock });
    for (let i = 0; i < 10_000; i++) {
      const p = plan({ classes: [classes[Math.floor(i / 100) % 10]!] }, { cameras: [`cam-${i % 100}`], zones: ['entrance'] });
      m.arm({ id: `q${i}`, plan: p, version: 1 });
    }
    // 10 queries per (camera, class); 2 people and a car on cam-7
    const tracks = [track('cam-7:1'), track('cam-7:2'), track('cam-7:3', { label: 'car' })];
    m.evaluate({ camera: 'cam-7', at: T0, tracks });
    expect(m.toJSON().lastFrameEvaluations).toBe(30);
    // a class no query names costs nothing
    m.evaluate({ camera: 'cam-7', at: T0 + STEP, tracks: [track('cam-7:4', { label: 'dog' })] });
    expect(m.toJSON().lastFrameEvaluations).toBe(0);
    // queries naming no camera are touched on every camera, once per track of their class
    m.arm({ id: 'anywhere', plan: plan(person), version: 1 });
    m.evaluate({ camera: 'cam-42', at: T0 + 2 * STEP, tracks: [track('cam-42:1')] });
    expect(m.toJSON().lastFrameEvaluations).toBe(11);
  });
});
