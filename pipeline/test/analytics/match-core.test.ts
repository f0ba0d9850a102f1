import { describe, expect, it } from 'vitest';
import { QUERY_PLAN_VERSION, type SceneFrameMeta, type SceneTrack, type StandingQuery } from '@chronotrace/contracts';
import { ANALYTICS_MODELS, ANOMALY_MODEL, BARE_SITE, MatchCore, alertId, backtest, type BacktestFrame } from '../../src/index';
import { colors, track as fixtureTrack } from '../matching/fixtures';

const T0 = 1_700_000_000_000;

function query(id: string, overrides: Partial<StandingQuery> = {}): StandingQuery {
  return {
    id,
    text: 'person in red',
    plan: { version: QUERY_PLAN_VERSION, subject: { classes: ['person'], colors: [{ part: 'upper', colors: ['red'] }] } },
    explanation: 'a person wearing red (upper body)',
    cameras: null,
    severity: 'critical',
    armed: true,
    version: 1,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function track(id: string, at: number, color: 'red' | 'blue' = 'red'): SceneTrack {
  return fixtureTrack(id, { camera: 'gate', firstSeen: T0, lastSeen: at, age: at - T0, attributes: colors({ upper: [[color, 0.8]] }) });
}

function scene(seq: number, tracks: SceneTrack[], camera = 'gate'): SceneFrameMeta {
  const at = T0 + seq * 500;
  return {
    camera,
    frameId: `${camera}:s:${seq}`,
    seq,
    capturedAt: at,
    width: 640,
    height: 480,
    redaction: { faces: [], plates: [], heads: [], objects: [], motion: { ran: true, changedRatio: 0.1, reason: 'motion' }, method: 'pixelate', models: [{ name: 'nanodet', version: 'm1' }], ms: 5, redactedAt: at },
    scene: { tracks, started: [], ended: [], ms: 1, attributesFresh: true },
  };
}

describe('MatchCore with anomaly rules (one engine)', () => {
  it('arms a plan with an anomaly rule in the anomaly engine, beside described queries, and alerts with its kind and evidence', () => {
    const core = new MatchCore({ hysteresis: { n: 1, m: 1 }, cooldownMs: 0 }, () => ({ ...BARE_SITE, lines: [{ name: 'gate', from: [0.5, 0], to: [0.5, 1] }] }));
    const line = query('q-line', { text: 'people crossing the gate line inbound', plan: { version: QUERY_PLAN_VERSION, subject: { classes: ['person'] }, anomaly: { type: 'line', line: 'gate', direction: 'in' } } });
    const bad = query('q-bad', { plan: { version: QUERY_PLAN_VERSION, subject: { classes: ['person'] }, anomaly: { type: 'crowd', risePerMinute: 0, clearFraction: 2 } } as StandingQuery['plan'] });
    const r = core.setQueries([query('q1'), line, bad]);
    expect(r.armed).toBe(2);
    expect(r.rejected.map((x) => x.id)).toEqual(['q-bad']);
    const walker = (seq: number, x: number): SceneTrack => fixtureTrack('p1', { camera: 'gate', box: { x: x - 20, y: 200, w: 40, h: 100 }, firstSeen: T0, lastSeen: T0 + seq * 500, attributes: colors({ upper: [['red', 0.8]] }) });
    const a1 = core.evaluate(scene(1, [walker(1, 400)]), true);
    // The described query fires on its own; the line has not been crossed yet.
    expect(a1.map((a) => [a.queryId, a.kind])).toEqual([['q1', 'track']]);
    const [crossed, ...more] = core.evaluate(scene(2, [walker(2, 300)]), true);
    expect(more).toEqual([]);
    expect(crossed).toMatchObject({ queryId: 'q-line', kind: 'line', anomaly: { type: 'line', line: 'gate', direction: 'in' }, reason: 'person crossed line "gate" inbound' });
    expect(crossed!.models).toContainEqual(ANOMALY_MODEL);
    expect(core.lineCounts()).toEqual({ gate: { gate: { in: 1, out: 0 } } });
    expect(core.toJSON().anomalies).toMatchObject({ rules: 1, events: 1 });
    // Disarming by leaving it out of the set.
    core.setQueries([query('q1')]);
    expect(core.toJSON().anomalies.rules).toBe(0);
  });
});

describe('MatchCore', () => {
  it('fires one alert per track after N of M frames, with the query, evidence, scores and every model version', () => {
    const core = new MatchCore({ hysteresis: { n: 2, m: 3 }, cooldownMs: 0 });
    core.setQueries([query('q1'), query('q-off', { armed: false })]);
    expect(core.size).toBe(1);
    expect(core.evaluate(scene(1, [track('t1', T0 + 500)]), true)).toEqual([]);
    const [a, ...rest] = core.evaluate(scene(2, [track('t1', T0 + 1000)]), true, T0 + 1100);
    expect(rest).toEqual([]);
    expect(a).toMatchObject({
      queryId: 'q1',
      queryText: 'person in red',
      queryVersion: 1,
      planVersion: QUERY_PLAN_VERSION,
      severity: 'critical',
      kind: 'track',
      camera: 'gate',
      frameId: 'gate:s:2',
      capturedAt: T0 + 1000,
      firedAt: T0 + 1100,
      frame: { width: 640, height: 480 },
      hasSnapshot: true,
      explanation: 'a person wearing red (upper body)',
    });
    expect(a!.tracks.map((t) => [t.trackId, t.colorScore])).toEqual([['t1', 0.8]]);
    expect(a!.scores.hysteresis).toBeCloseTo(2 / 3);
    expect(a!.models).toEqual([{ name: 'nanodet', version: 'm1' }, ...ANALYTICS_MODELS]);
    expect(a!.id).toBe(alertId('q1', 1, 'gate', 'gate:s:2', ['t1']));
    // Once per track.
    expect(core.evaluate(scene(3, [track('t1', T0 + 1500)]), true)).toEqual([]);
    expect(core.toJSON().alerts).toBe(1);
  });

  it('skips a frame not newer than its camera\'s last (a redelivery) instead of replaying it', () => {
    const core = new MatchCore({ hysteresis: { n: 2, m: 3 }, cooldownMs: 0 });
    core.setQueries([query('q1')]);
    core.evaluate(scene(1, [track('t1', T0 + 500)]), true);
    expect(core.evaluate(scene(2, [track('t1', T0 + 1000)]), true)).toHaveLength(1);
    // Frame 1 again, without t1: replayed, it would make t1 look gone and let it fire a second time.
    expect(core.evaluate(scene(1, []), true)).toEqual([]);
    expect(core.evaluate(scene(3, [track('t1', T0 + 1500)]), true)).toEqual([]);
    expect(core.evaluate(scene(4, [track('t1', T0 + 2000)]), true)).toEqual([]);
    expect(core.toJSON().staleFrames).toBe(1);
    expect(core.evaluate(scene(4, [track('t9', T0 + 2000)], 'dock'), true)).toEqual([]);
  });

  it('gives the same frame the same alert id and a different frame or version a different one', () => {
    expect(alertId('q', 1, 'c', 'f1', ['t'])).toBe(alertId('q', 1, 'c', 'f1', ['t']));
    expect(alertId('q', 1, 'c', 'f1', ['t'])).not.toBe(alertId('q', 2, 'c', 'f1', ['t']));
    expect(alertId('q', 1, 'c', 'f1', ['t'])).not.toBe(alertId('q', 1, 'c', 'f2', ['t']));
    expect(alertId('q', 1, 'c', 'f1', ['t'])).toMatch(/^al_[0-9a-f]{24}$/);
  });

  it('follows the armed set: disarming stops alerts, a new version starts afresh, and a bad stored plan is skipped, not thrown', () => {
    const core = new MatchCore({ hysteresis: { n: 1, m: 1 }, cooldownMs: 0 });
    const bad = query('q-bad', { plan: { version: 99 } as unknown as StandingQuery['plan'] });
    const r = core.setQueries([query('q1'), bad]);
    expect(r.armed).toBe(1);
    expect(r.rejected.map((x) => x.id)).toEqual(['q-bad']);
    expect(core.evaluate(scene(1, [track('t1', T0 + 500)]), false)).toHaveLength(1);
    core.setQueries([query('q1', { armed: false })]);
    expect(core.evaluate(scene(2, [track('t2', T0 + 1000)]), false)).toEqual([]);
    core.setQueries([query('q1', { version: 2, severity: 'info' })]);
    const [a] = core.evaluate(scene(3, [track('t2', T0 + 1500)]), false);
    expect(a?.queryVersion).toBe(2);
    expect(a?.severity).toBe('info');
    expect(a?.hasSnapshot).toBe(false);
  });
});

describe('backtest', () => {
  it('replays stored frames as live would have fired: hysteresis, once per track, cooldown, only matching colours', () => {
    const frames: BacktestFrame[] = [];
    for (let i = 1; i <= 10; i++) {
      const tracks = [track('red-1', T0 + i * 500), track('blue-1', T0 + i * 500, 'blue')];
      if (i >= 6) tracks.push(track('red-2', T0 + i * 500));
      frames.push({ frameId: `gate:s:${i}`, camera: 'gate', capturedAt: T0 + i * 500, width: 640, height: 480, tracks });
    }
    const noCooldown = backtest(query('q1'), frames, { matcher: { hysteresis: { n: 2, m: 3 }, cooldownMs: 0 } });
    expect(noCooldown.frames).toBe(10);
    expect(noCooldown.hits.map((h) => [h.frameId, h.tracks[0]?.trackId])).toEqual([
      ['gate:s:2', 'red-1'],
      ['gate:s:7', 'red-2'],
    ]);
    const withCooldown = backtest(query('q1'), frames, { matcher: { hysteresis: { n: 2, m: 3 }, cooldownMs: 60_000 } });
    expect(withCooldown.hits.map((h) => h.frameId)).toEqual(['gate:s:2']);
    const capped = backtest(query('q1'), frames, { matcher: { hysteresis: { n: 2, m: 3 }, cooldownMs: 0 }, maxHits: 1 });
    expect(capped.hits).toHaveLength(1);
    expect(capped.truncated).toBe(true);
  });

  it('replays a disarmed query too (trying it before arming is the point)', () => {
    const frames: BacktestFrame[] = [1, 2].map((i) => ({ frameId: `f${i}`, camera: 'gate', capturedAt: T0 + i * 500, width: 640, height: 480, tracks: [track('t', T0 + i * 500)] }));
    expect(backtest(query('q1', { armed: false }), frames, { matcher: { hysteresis: { n: 2, m: 3 } } }).hits).toHaveLength(1);
  });
});
