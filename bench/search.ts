import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { BASIC_COLORS, type BasicColor, type TrackSummary } from '@chronotrace/contracts';
import { openStore, type SqlStore } from '@chronotrace/platform';
import { QueryCompiler, SearchService, trackQuality } from '@chronotrace/pipeline';

/*
 * Search latency over a history of 1 000 000 stored detections, generated as realistic tracks: 16
 * cameras over 7 days, busier by day, people (most), cars, trucks, buses, bicycles; each track's
 * detections (observations) drawn from a long-tailed distribution (a glimpse to minutes in view), with
 * colour shares per body part, zones, dwell and carried objects. Search reads the per-track summaries,
 * so those are what is stored (one row per track, as the scene stage writes them). Each measured
 * search is the whole SearchService call (time phrases, compiler, SQL, thumbnails and "recorded"
 * look-ups), over a varied set of texts and second pages.
 */

const ZONES = ['entrance', 'loading bay', 'dock', 'car park'];
const CAMERAS = Array.from({ length: 16 }, (_, i) => ({ id: `cam-${String(i).padStart(2, '0')}`, name: `Camera ${i}`, timeZone: 'Europe/Paris' }));
const SEARCHES = [
  'person',
  'person in red',
  'person in red with blue jeans',
  'person with a backpack in entrance',
  'person with a red backpack',
  'car in the car park yesterday after 18:00',
  'white car',
  'truck in the last 2 hours',
  'bicycle this morning',
  'person in dock for over 2 minutes',
  'person between 14:00 and 15:00 on Monday',
  'person in black at night',
  'bus on camera 3',
  'person without a backpack in loading bay last week',
  'vehicle in the last 24 hours',
  'person in green since 06:00',
];

/** A small deterministic PRNG (mulberry32): the same history every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Tracks whose observations add up to `detections`, ending before `now`. */
export function generateHistory(detections: number, now: number, seed = 7): (TrackSummary & { quality: number })[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: (TrackSummary & { quality: number })[] = [];
  let left = detections;
  let n = 0;
  const span = 7 * 86_400_000;
  while (left > 0) {
    // Busier by day: reject night times half of the time.
    let start = now - Math.floor(r() * span);
    const hour = new Date(start).getUTCHours();
    if ((hour < 6 || hour > 21) && r() < 0.5) start = now - Math.floor(r() * span);
    const u = r();
    const label = u < 0.7 ? 'person' : u < 0.85 ? 'car' : u < 0.91 ? 'truck' : u < 0.95 ? 'bus' : 'bicycle';
    // Long tail: most tracks a few seconds (2 fps analysis), some minutes.
    const obs = Math.min(left, Math.max(1, Math.round(Math.exp(r() * 4.2 + 1))));
    left -= obs;
    const duration = obs * 500 + Math.floor(r() * 2000);
    const best = 0.35 + r() * 0.6;
    const mean = best * (0.7 + r() * 0.3);
    const camera = CAMERAS[Math.floor(r() * CAMERAS.length)]!.id;
    const shares = (): Partial<Record<BasicColor, number>> => {
      const a = pick(BASIC_COLORS);
      const b = pick(BASIC_COLORS);
      const s = Math.round((0.4 + r() * 0.6) * 1000) / 1000;
      return a === b ? { [a]: 1 } : { [a]: s, [b]: Math.round((1 - s) * 1000) / 1000 };
    };
    const zones = r() < 0.6 ? [pick(ZONES)] : r() < 0.5 ? [pick(ZONES), pick(ZONES)] : [];
    const uniqueZones = [...new Set(zones)].sort();
    const dwell: Record<string, number> = {};
    for (const z of uniqueZones) dwell[z] = Math.round(((duration / 1000) * (0.3 + r() * 0.7)) * 10) / 10;
    const carrying = label === 'person' && r() < 0.25 ? [pick(['backpack', 'handbag', 'suitcase'] as const)] : [];
    const summary: TrackSummary = {
      trackId: `${camera}:b${seed}-${++n}`,
      camera,
      label,
      firstSeen: start,
      lastSeen: start + duration,
      ended: true,
      observations: obs,
      bestScore: Math.round(best * 1000) / 1000,
      meanScore: Math.round(mean * 1000) / 1000,
      bestAt: start + Math.floor(duration / 2),
      bestBox: { x: Math.floor(r() * 500), y: Math.floor(r() * 300), w: 40 + Math.floor(r() * 80), h: 80 + Math.floor(r() * 150) },
      frameWidth: 640,
      frameHeight: 480,
      colors: label === 'person' ? { any: shares(), upper: shares(), lower: shares() } : { any: shares() },
      zones: uniqueZones,
      dwell,
      carrying,
      carriedColors: carrying.map((c) => `${c}:${pick(BASIC_COLORS)}`),
    };
    out.push({ ...summary, quality: trackQuality(summary) });
  }
  return out;
}

export interface SearchFigures {
  p50: number;
  p95: number;
  searches: number;
  tracks: number;
  detections: number;
  load_s: number;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
}

async function timeSearches(store: SqlStore, now: number, rounds: number): Promise<number[]> {
  const compiler = new QueryCompiler({ zones: ZONES, cameras: CAMERAS });
  const service = new SearchService({ store, compiler: async () => compiler, cameras: async () => CAMERAS, now: () => now });
  const times: number[] = [];
  for (let round = 0; round < rounds + 1; round++) {
    for (const q of SEARCHES) {
      const t0 = performance.now();
      const r = await service.search({ q, limit: '24' });
      const first = performance.now() - t0;
      if (!r.ok) throw new Error(`bench search "${q}" was refused: ${JSON.stringify(r)}`);
      // Round 0 warms caches and plans up: not counted.
      if (round > 0) times.push(first);
      if (round > 0 && r.response.nextCursor) {
        const t1 = performance.now();
        const page2 = await service.search({ q, limit: '24', cursor: r.response.nextCursor });
        if (!page2.ok) throw new Error(`bench search "${q}" page 2 was refused`);
        times.push(performance.now() - t1);
      }
    }
  }
  return times;
}

async function load(store: SqlStore, history: (TrackSummary & { quality: number })[]): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < history.length; i += 2000) await store.trackSummaries.upsert(history.slice(i, i + 2000), Date.now());
  // Fresh planner statistics, as autovacuum would have after a week of writes.
  await store.db.query('ANALYZE track_summaries');
  return (performance.now() - t0) / 1000;
}

/** search_ms on PGlite (file-backed, as embedded mode runs) and on PostgreSQL (a fresh schema, dropped after). */
export async function measureSearch(pgUrl: string, detections = 1_000_000, rounds = 6): Promise<{ pglite: SearchFigures; postgres: SearchFigures | { error: string } }> {
  const now = Date.now();
  const history = generateHistory(detections, now);
  const figures = async (store: SqlStore): Promise<SearchFigures> => {
    const loadS = await load(store, history);
    const times = await timeSearches(store, now, rounds);
    return { p50: percentile(times, 50), p95: percentile(times, 95), searches: times.length, tracks: history.length, detections, load_s: Math.round(loadS) };
  };
  const dir = await mkdtemp(join(tmpdir(), 'ct-bench-search-'));
  let pglite: SearchFigures;
  const lite = await openStore({ kind: 'pglite', dataDir: join(dir, 'db') });
  try {
    pglite = await figures(lite);
  } finally {
    await lite.close();
    await rm(dir, { recursive: true, force: true });
  }
  const schema = `ct_bench_search_${process.pid}`;
  let pg: SearchFigures | { error: string };
  try {
    const store = await openStore({ kind: 'postgres', url: pgUrl, schema });
    try {
      pg = await figures(store);
    } finally {
      await store.close();
    }
  } catch (e) {
    pg = { error: e instanceof Error ? e.message : String(e) };
  } finally {
    const admin = postgres(pgUrl, { max: 1, onnotice: () => undefined });
    await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin.end({ timeout: 5 });
  }
  return { pglite, postgres: pg };
}
