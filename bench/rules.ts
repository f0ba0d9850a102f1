import { QUERY_PLAN_VERSION, type AnomalyRule, type SceneFrameMeta, type SceneTrack, type StandingQuery } from '@chronotrace/contracts';
import { MatchCore, QueryCompiler, compileTimeWindow, processLocalClock, type AnomalySite } from '@chronotrace/pipeline';
import { distinctQueries } from './matcher';

const ZONES = ['entrance', 'loading bay', 'dock'];
const LINES = ['gate', 'door', 'ramp'];

/**
 * `n` distinct rules for one camera: three quarters described standing queries (distinctQueries(),
 * compiled by the real compiler), a quarter anomaly rules of every type with different thresholds,
 * zones, lines, directions and windows. No two plans are the same.
 */
function distinctRules(n: number): StandingQuery[] {
  const compiler = new QueryCompiler({ zones: ZONES });
  const described = distinctQueries().slice(0, Math.ceil(n * 0.75)).map((text) => {
    const r = compiler.compile(text);
    if (!r.ok) throw new Error(`bench query "${text}" did not compile`);
    return r.plan;
  });
  const anomalies: AnomalyRule[] = [];
  for (const line of LINES) for (const direction of ['in', 'out'] as const) anomalies.push({ type: 'line', line, direction });
  for (let s = 10, k = 1; anomalies.length < n; s += 7, k++) {
    anomalies.push({ type: 'loitering', minSeconds: s });
    anomalies.push({ type: 'crowd', risePerMinute: Math.min(1000, k), clearFraction: (k % 10) / 10 });
    anomalies.push({ type: 'abandoned', minSeconds: s, distance: 0.05 + (s % 20) / 100 });
    anomalies.push({ type: 'unusual', z: 2 + (s % 50) / 10, minHistory: 50 + s });
    anomalies.push({ type: 'after-hours', schedule: `${s % 2 ? 'office' : 'night'}-${s}` });
    anomalies.push({ type: 'line', line: LINES[s % 3]!, count: { op: '>', n: s % 50, windowSeconds: 60 + s } });
  }
  const plans = [
    ...described,
    ...anomalies.slice(0, n - described.length).map((anomaly, i) => ({
      version: QUERY_PLAN_VERSION,
      subject: anomaly.type === 'abandoned' ? { classes: ['backpack' as const, 'suitcase' as const] } : { classes: [i % 5 === 0 ? ('car' as const) : ('person' as const)] },
      ...(i % 4 === 0 ? {} : { zones: [ZONES[i % 3]!] }),
      anomaly,
    })),
  ].slice(0, n);
  return plans.map((plan, i) => ({ id: `r${i}`, text: `rule ${i}`, plan, explanation: '', cameras: null, severity: 'info', armed: true, version: 1, createdAt: 0, updatedAt: 0 }));
}

/** 20 tracks (15 people, 3 cars, 2 bags) walking through zones and across the lines, different on every frame. */
function frame(seq: number, t0: number): SceneFrameMeta {
  const at = t0 + seq * 500;
  const tracks: SceneTrack[] = [];
  for (let i = 0; i < 20; i++) {
    const label = i < 15 ? 'person' : i < 18 ? 'car' : i === 18 ? 'backpack' : 'suitcase';
    const x = label === 'backpack' || label === 'suitcase' ? 200 + i * 10 : (i * 53 + seq * (3 + (i % 5))) % 620;
    const y = 150 + ((i * 37 + seq * (i % 3)) % 300);
    const zones = ZONES.filter((_, z) => ((x >> 6) + z + i) % 3 === 0);
    tracks.push({
      id: `cam:${i}`,
      camera: 'cam',
      label,
      box: { x, y: y - 100, w: 40, h: 100 },
      score: 0.7 + (i % 3) / 10,
      firstSeen: t0,
      lastSeen: at,
      hits: seq + 1,
      misses: 0,
      age: at - t0,
      path: [],
      velocity: { x: 6 + (i % 5) * 2, y: (i % 3) - 1 },
      speed: 6 + (i % 5) * 2,
      dwell: Object.fromEntries(zones.map((z) => [z, (seq % 200) * 500])),
      zones,
      state: 'confirmed',
      attributes: { upper: { dominant: 'red', colors: [{ color: i % 2 ? 'red' : 'blue', fraction: 0.7 }] }, lower: { dominant: 'blue', colors: [{ color: 'blue', fraction: 0.8 }] } },
      ...(label === 'person' && i % 4 === 0 ? { carrying: ['backpack' as const] } : {}),
    });
  }
  return {
    camera: 'cam',
    frameId: `cam:b:${seq}`,
    seq,
    capturedAt: at,
    width: 640,
    height: 480,
    redaction: { faces: [], plates: [], heads: [], objects: [], motion: { ran: true, changedRatio: 0.1, reason: 'motion' }, method: 'pixelate', models: [], ms: 1, redactedAt: at },
    scene: { tracks, started: [], ended: [], ms: 1, attributesFresh: true },
  };
}

export interface RulesFigures {
  /** ms per frame of MatchCore.evaluate (matcher and anomaly engine) with that many distinct rules, all on the frame's camera, 20 tracks. */
  rules_ms_per_frame: { '100': number; '10000': number };
  rules: { frames: number; distinct_plans: number; anomaly_rules: number; how: string };
}

export function measureRules(frames = 600): RulesFigures {
  const site: AnomalySite = {
    lines: LINES.map((name, i) => ({ name, from: [0.2 + i * 0.3, 0], to: [0.2 + i * 0.3, 1] })),
    schedule: (_zone, name) => compileTimeWindow(name?.startsWith('night') ? { after: '22:00', before: '06:00' } : { after: '08:00', before: '18:00' }),
    clock: processLocalClock,
  };
  const run = (n: number, only?: 'described' | 'anomalies'): { ms: number; plans: number; anomalies: number } => {
    const rules = distinctRules(n).filter((r) => !only || (only === 'anomalies') === (r.plan.anomaly !== undefined));
    const core = new MatchCore({ cooldownMs: 60_000 }, () => site);
    const armed = core.setQueries(rules);
    if (armed.rejected.length) throw new Error(`bench rules refused: ${armed.rejected[0]?.error}`);
    const t0 = Date.UTC(2026, 11, 2, 12, 0);
    const metas = Array.from({ length: frames + 50 }, (_, f) => frame(f, t0));
    let start = 0;
    metas.forEach((m, f) => {
      if (f === 50) start = performance.now();
      core.evaluate(m, false, m.capturedAt);
    });
    return { ms: Math.round(((performance.now() - start) / frames) * 1000) / 1000, plans: new Set(rules.map((r) => JSON.stringify(r.plan))).size, anomalies: rules.filter((r) => r.plan.anomaly).length };
  };
  // BENCH_RULES_SPLIT=1: the two halves apart (for profiling), on stderr.
  if (process.env.BENCH_RULES_SPLIT) process.stderr.write(`${JSON.stringify({ described: run(10_000, 'described'), anomalies: run(10_000, 'anomalies') })}\n`);
  const small = run(100);
  const large = run(10_000);
  return {
    rules_ms_per_frame: { '100': small.ms, '10000': large.ms },
    rules: {
      frames,
      distinct_plans: large.plans,
      anomaly_rules: large.anomalies,
      how: 'MatchCore.evaluate (TrackMatcher + AnomalyEngine) per frame, every rule on the frame\'s camera: 3/4 distinct described queries compiled by the real compiler, 1/4 distinct anomaly rules of all six types; 20 tracks (15 people, 3 cars, 2 bags) moving through 3 zones and across 3 lines, different on each frame (built before timing); 50 frames of warm-up',
    },
  };
}
