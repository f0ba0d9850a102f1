import { QueryCompiler, TrackMatcher, type MatchTrack } from '@chronotrace/pipeline';

/** Phrasings the armed queries are compiled from (through the real compiler), cycled over cameras. */
const PHRASES = [
  'person in red',
  'person with a backpack',
  'more than 3 people in entrance',
  'car in loading bay',
  'person in dock for over 2 minutes',
  'truck after 22:00',
  'person with a suitcase on weekends',
  'bicycle',
  'person wearing blue jeans',
  'at least 2 cars',
];

const COLOURS = ['red', 'blue', 'green', 'yellow', 'black', 'white', 'grey', 'orange', 'purple', 'brown'];
const ZONES = ['', ' in entrance', ' in loading bay', ' in dock'];

/**
 * 10 000+ distinct query texts (not phrasings repeated): people by upper and lower colour, carried
 * object and zone; vehicles by class, colour, zone and time window; counts by class, comparison,
 * threshold and zone; dwell by colour, zone and minutes.
 */
export function distinctQueries(): string[] {
  const out: string[] = [];
  for (const up of COLOURS) for (const low of COLOURS) for (const z of ZONES) for (const carry of ['', ' with a backpack', ' with a suitcase', ' with a handbag']) out.push(`person in ${up} with ${low} jeans${carry}${z}`);
  for (const cls of ['car', 'truck', 'bus', 'bicycle', 'motorcycle']) for (const c of ['', ...COLOURS]) for (const z of ZONES) for (const t of ['', ' after 22:00', ' before 06:00']) out.push(`${c ? `${c} ` : ''}${cls}${z}${t}`);
  for (const cls of ['people', 'cars', 'trucks']) for (const op of ['more than', 'at least', 'fewer than']) for (let n = 2; n <= 151; n++) for (const z of ZONES) out.push(`${op} ${n} ${cls}${z}`);
  for (const c of ['', ...COLOURS]) for (const z of ZONES.slice(1)) for (let m = 1; m <= 120; m++) out.push(`person${c ? ` in ${c}` : ''}${z} for over ${m} minutes`);
  return out;
}

function tracksFor(camera: string, at: number, people: number, cars: number): MatchTrack[] {
  const mk = (i: number, label: string): MatchTrack => ({
    id: `${camera}:${label}:${i}`,
    camera,
    label,
    box: { x: 20 + i * 30, y: 100, w: 40, h: label === 'person' ? 110 : 60 },
    score: 0.8,
    firstSeen: at - 200_000,
    lastSeen: at,
    hits: 50,
    misses: 0,
    age: 200_000,
    path: [],
    velocity: { x: 3, y: 0 },
    speed: 3,
    dwell: { entrance: 150_000, dock: 150_000 },
    zones: ['entrance', 'dock'],
    state: 'confirmed',
    attributes: { upper: { dominant: 'red', colors: [{ color: 'red', fraction: 0.7 }] }, lower: { dominant: 'blue', colors: [{ color: 'blue', fraction: 0.8 }] } },
    carrying: label === 'person' && i % 3 === 0 ? ['backpack'] : [],
  });
  return [...Array.from({ length: people }, (_, i) => mk(i, 'person')), ...Array.from({ length: cars }, (_, i) => mk(i, 'car'))];
}

export interface MatcherFigures {
  /** Mean ms per frame (20 confirmed tracks: 15 people, 5 cars), queries spread over 100 cameras. */
  matcher_ms_per_frame: Record<'1' | '100' | '10000', number>;
  /** Same, with every query on the frame's camera (no camera filter): the worst case for the index. */
  matcher_ms_per_frame_all_on_one_camera: Record<'1' | '100' | '10000', number>;
  matcher_frames: number;
  /** 10 000 DISTINCT queries (distinctQueries(), not ten phrasings repeated): spread over 100 cameras, and all on the frame's camera. */
  matcher_ms_per_frame_distinct_10000: { spread: number; all_on_one_camera: number; distinct_plans: number };
}

/** Times TrackMatcher.evaluate with 1, 100 and 10 000 armed queries compiled by the real QueryCompiler. */
export function measureMatcher(frames = 1000): MatcherFigures {
  const cameras = Array.from({ length: 100 }, (_, i) => ({ id: `cam-${i}`, name: `Cam ${i}` }));
  const compiler = new QueryCompiler({ zones: ['entrance', 'loading bay', 'dock'], cameras });
  const plans = PHRASES.map((p) => {
    const r = compiler.compile(p);
    if (!r.ok) throw new Error(`bench phrase "${p}" did not compile: ${r.error.error}`);
    return r.plan;
  });
  const run = (n: number, spread: boolean): number => {
    const matcher = new TrackMatcher({ cooldownMs: 60_000 });
    for (let i = 0; i < n; i++) {
      const plan = plans[i % plans.length]!;
      matcher.arm({ id: `q${i}`, version: 1, plan: spread ? { ...plan, cameras: [cameras[i % cameras.length]!.id] } : { ...plan } });
    }
    const t0 = Date.UTC(2026, 10, 23, 12, 0);
    const warm = 50;
    let start = 0;
    for (let f = 0; f < frames + warm; f++) {
      if (f === warm) start = performance.now();
      const at = t0 + f * 500;
      matcher.evaluate({ camera: 'cam-0', at, tracks: tracksFor('cam-0', at, 15, 5) });
    }
    return Math.round(((performance.now() - start) / frames) * 1000) / 1000;
  };
  // Distinct queries: every text compiled; the plans differ in classes, colours, zones, counts, times, dwell.
  const distinct = distinctQueries().slice(0, 10_000).map((text) => {
    const r = compiler.compile(text);
    if (!r.ok) throw new Error(`bench query "${text}" did not compile: ${r.error.error}`);
    return r.plan;
  });
  if (distinct.length < 10_000) throw new Error(`only ${distinct.length} distinct bench queries`);
  const runDistinct = (spread: boolean): number => {
    const matcher = new TrackMatcher({ cooldownMs: 60_000 });
    distinct.forEach((plan, i) => matcher.arm({ id: `d${i}`, version: 1, plan: spread ? { ...plan, cameras: [cameras[i % cameras.length]!.id] } : { ...plan } }));
    const t0 = Date.UTC(2026, 10, 23, 12, 0);
    let start = 0;
    for (let f = 0; f < frames + 50; f++) {
      if (f === 50) start = performance.now();
      const at = t0 + f * 500;
      matcher.evaluate({ camera: 'cam-0', at, tracks: tracksFor('cam-0', at, 15, 5) });
    }
    return Math.round(((performance.now() - start) / frames) * 1000) / 1000;
  };
  const sizes = ['1', '100', '10000'] as const;
  return {
    matcher_ms_per_frame_distinct_10000: { spread: runDistinct(true), all_on_one_camera: runDistinct(false), distinct_plans: new Set(distinct.map((p) => JSON.stringify(p))).size },
    matcher_ms_per_frame: Object.fromEntries(sizes.map((s) => [s, run(Number(s), true)])) as MatcherFigures['matcher_ms_per_frame'],
    matcher_ms_per_frame_all_on_one_camera: Object.fromEntries(sizes.map((s) => [s, run(Number(s), false)])) as MatcherFigures['matcher_ms_per_frame_all_on_one_camera'],
    matcher_frames: frames,
  };
}
