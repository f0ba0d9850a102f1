import { describe, expect, it } from 'vitest';
import type { RecordingSegment, ReidLink, TrackSummary, VideoJob } from '@chronotrace/contracts';
import { storeTargets, withStore } from './store-targets';

const T0 = 1_732_000_000_123;

function summary(id: string, over: Partial<TrackSummary> & { quality?: number } = {}): TrackSummary & { quality: number } {
  return {
    trackId: `gate:${id}`,
    camera: 'gate',
    label: 'person',
    firstSeen: T0,
    lastSeen: T0 + 5_000,
    ended: true,
    observations: 10,
    bestScore: 0.8,
    meanScore: 0.7,
    bestAt: T0 + 2_000,
    bestBox: { x: 10, y: 20, w: 30, h: 90 },
    frameWidth: 640,
    frameHeight: 480,
    colors: { any: { red: 0.6, blue: 0.4 }, upper: { red: 1 }, lower: { blue: 0.9, black: 0.1 } },
    zones: ['door'],
    dwell: { door: 4.5 },
    carrying: [],
    carriedColors: [],
    quality: 0.5,
    ...over,
  };
}

function videoJob(id: string, createdAt: number, over: Partial<VideoJob> = {}): VideoJob {
  return {
    id,
    camera: `upload-${id}`,
    fileName: `${id}.mp4`,
    bytes: 1234,
    container: 'mov,mp4,m4a,3gp,3g2,mj2',
    codec: 'h264',
    width: 640,
    height: 480,
    durationS: 12,
    startAt: createdAt - 12_000,
    state: 'processing',
    progress: { percent: 10, frames: 6, totalFrames: 60, redacted: 5, etaS: 3, speedX: 4 },
    error: null,
    createdAt,
    finishedAt: null,
    ...over,
  };
}

function segment(run: string, seq: number, startAt: number, over: Partial<RecordingSegment> = {}): RecordingSegment {
  return {
    id: `${run}-${seq}`,
    camera: 'gate',
    run,
    seq,
    path: `recordings/gate/${run}/seg-${String(seq).padStart(6, '0')}.m4s`,
    initPath: `recordings/gate/${run}/init.mp4`,
    startAt,
    endAt: startAt + 2_000,
    bytes: 1_000,
    frames: 20,
    keyframes: 1,
    width: 640,
    height: 480,
    ...over,
  };
}

describe.each(storeTargets('history'))('Store contract (recordings, track summaries) on $kind', (target) => {
  it('keeps the segment index: overlap reads, totals, per run, idempotent adds, deletes', () =>
    withStore(target, async (store) => {
      const r = store.recordings;
      for (let i = 0; i < 5; i++) expect(await r.add(segment('run1', i, T0 + i * 2_000), T0)).toBe(true);
      expect(await r.add(segment('run1', 0, T0), T0)).toBe(false);
      await r.add(segment('run2', 0, T0 + 20_000, { bytes: 5_000 }), T0);
      expect((await r.list('gate', { from: T0 + 3_000, to: T0 + 6_500 })).map((s) => s.id)).toEqual(['run1-1', 'run1-2', 'run1-3']);
      expect(await r.get('gate', 'run1', 2)).toEqual(segment('run1', 2, T0 + 4_000));
      expect(await r.totals('gate')).toEqual({ segments: 6, bytes: 10_000, from: T0, to: T0 + 22_000 });
      expect(await r.totals('nope')).toEqual({ segments: 0, bytes: 0, from: null, to: null });
      expect(await r.runs('gate')).toEqual(['run1', 'run2']);
      expect(await r.cameras()).toEqual(['gate']);
      expect(await r.delete('gate', [{ run: 'run1', seq: 0 }, { run: 'run1', seq: 9 }])).toBe(1);
      expect((await r.run('gate', 'run1')).map((s) => s.seq)).toEqual([1, 2, 3, 4]);
    }));

  it('lists prunable segments oldest first, never one a hold overlaps', () =>
    withStore(target, async (store) => {
      const r = store.recordings;
      for (let i = 0; i < 4; i++) await r.add(segment('run1', i, T0 + i * 2_000), T0);
      await r.addHold({ id: 'h1', camera: 'gate', from: T0 + 2_500, to: T0 + 2_600, reason: 'export ex-1', createdAt: T0 });
      await r.addHold({ id: 'h-other', camera: 'yard', from: 0, to: T0 * 2, reason: 'another camera', createdAt: T0 });
      expect((await r.prunable('gate', {})).map((s) => s.seq)).toEqual([0, 2, 3]);
      expect((await r.prunable('gate', { endedBefore: T0 + 6_000 })).map((s) => s.seq)).toEqual([0, 2]);
      expect((await r.holds('gate')).map((h) => h.id)).toEqual(['h1']);
      expect(await r.deleteHold('h1')).toBe(true);
      expect((await r.prunable('gate', { limit: 2 })).map((s) => s.seq)).toEqual([0, 1]);
    }));

  it('searches summaries by class, colour share, zone, carried objects, dwell and time, ranked with a keyset', () =>
    withStore(target, async (store) => {
      const s = store.trackSummaries;
      await s.upsert(
        [
          summary('1', { quality: 0.9 }),
          summary('2', { quality: 0.7, colors: { any: { blue: 1 }, upper: { blue: 1 } }, zones: [], dwell: {} }),
          summary('3', { quality: 0.6, carrying: ['backpack'], carriedColors: ['backpack:red'], lastSeen: T0 + 100_000, dwell: { door: 90 } }),
          summary('4', { label: 'car', quality: 0.95, colors: { any: { white: 1 } } }),
          summary('5', { quality: 0.7, colors: { any: { red: 0.1, green: 0.9 } }, firstSeen: T0 + 3_600_000, lastSeen: T0 + 3_700_000 }),
        ],
        T0,
      );
      const ids = async (f: Parameters<typeof s.search>[0]): Promise<string[]> => (await s.search(f)).map((h) => h.summary.trackId.slice(5));
      expect(await ids({ classes: ['person'], limit: 10 })).toEqual(['1', '5', '2', '3']);
      // Red as a colour of the track (share ≥ 0.2): track 5's 0.1 is not.
      expect(await ids({ classes: ['person'], colors: [{ part: 'any', colors: ['red'] }], limit: 10 })).toEqual(['1', '3']);
      expect(await ids({ classes: ['person'], colors: [{ part: 'upper', colors: ['blue', 'green'] }], limit: 10 })).toEqual(['2']);
      expect(await ids({ classes: ['person'], zones: ['door'], limit: 10 })).toEqual(['1', '5', '3']);
      expect(await ids({ classes: ['person'], carrying: [{ classes: ['backpack'], negated: false }], limit: 10 })).toEqual(['3']);
      expect(await ids({ classes: ['person'], carrying: [{ classes: ['backpack'], colorTokens: ['backpack:blue'], negated: false }], limit: 10 })).toEqual([]);
      expect(await ids({ classes: ['person'], carrying: [{ classes: ['backpack', 'handbag'], negated: true }], limit: 10 })).toEqual(['1', '5', '2']);
      expect(await ids({ classes: ['person'], dwell: { minSeconds: 60, zones: ['door'] }, limit: 10 })).toEqual(['3']);
      expect(await ids({ classes: ['person'], dwell: { minSeconds: 60 }, limit: 10 })).toEqual(['5', '3']);
      expect(await ids({ classes: ['person'], intervals: [{ from: T0 + 3_650_000, to: T0 + 3_660_000 }], limit: 10 })).toEqual(['5']);
      expect(await ids({ classes: ['person'], intervals: [{ from: T0 - 10, to: T0 + 1 }, { from: T0 + 90_000, to: T0 + 95_000 }], limit: 10 })).toEqual(['1', '2', '3']);
      expect(await ids({ classes: ['person', 'car'], cameras: ['gate'], limit: 10 })).toEqual(['4', '1', '5', '2', '3']);
      expect(await ids({ classes: ['person'], cameras: ['yard'], limit: 10 })).toEqual([]);
      // Keyset: the page after track 5 (rank 0.7) continues with 2 (same rank, older), then 3.
      const first = await s.search({ classes: ['person'], limit: 2 });
      const last = first[1]!;
      expect(await ids({ classes: ['person'], limit: 10, after: { rank: last.rank, lastSeen: last.summary.lastSeen, trackId: last.summary.trackId } })).toEqual(['2', '3']);
      // A colour query ranks by quality × (0.4 + 0.6 × share).
      const red = await s.search({ classes: ['person'], colors: [{ part: 'any', colors: ['red'] }], limit: 10 });
      expect(red[0]!.colorScore).toBeCloseTo(0.6, 6);
      expect(red[0]!.rank).toBeCloseTo(0.9 * (0.4 + 0.6 * 0.6), 6);
      expect(await s.get('gate:1')).toEqual(Object.fromEntries(Object.entries(summary('1')).filter(([k]) => k !== 'quality')));
    }));

  it('replaces a live summary when it is written again, keeps thumbnails and prunes both', () =>
    withStore(target, async (store) => {
      const s = store.trackSummaries;
      await s.upsert([summary('1', { ended: false, observations: 3 })], T0);
      await s.upsert([summary('1', { ended: true, observations: 12, lastSeen: T0 + 9_000 })], T0 + 9_000);
      expect(await s.get('gate:1')).toMatchObject({ ended: true, observations: 12, lastSeen: T0 + 9_000 });
      expect(await s.count()).toBe(1);
      await s.putThumbnail({ trackId: 'gate:1', camera: 'gate', capturedAt: T0 + 2_000, crop: new Uint8Array([1, 2]), frame: new Uint8Array([3, 4, 5]) });
      expect(await s.thumbnail('gate:1', 'crop')).toEqual(new Uint8Array([1, 2]));
      expect(await s.thumbnail('gate:1', 'frame')).toEqual(new Uint8Array([3, 4, 5]));
      expect(await s.withThumbnails(['gate:1', 'gate:2'])).toEqual(new Set(['gate:1']));
      expect((await s.inRange('gate', T0 + 8_000, T0 + 10_000)).map((x) => x.trackId)).toEqual(['gate:1']);
      expect(await s.prune(T0 + 9_001)).toBe(1);
      expect(await s.thumbnail('gate:1', 'crop')).toBeNull();
    }));

  it('keeps video jobs across processes: newest first, cancel requests reach the owner, a stale job fails to exactly one caller', () =>
    withStore(target, async (store) => {
      const v = store.videoJobs;
      expect(await v.save(videoJob('a', T0), 'web-1', T0)).toEqual({ cancelRequested: false });
      await v.save(videoJob('b', T0 + 1_000), 'web-2', T0 + 1_000);
      await v.save(videoJob('c', T0 + 2_000, { state: 'done', finishedAt: T0 + 5_000 }), 'web-1', T0 + 5_000);
      expect((await v.list()).map((j) => j.id)).toEqual(['c', 'b', 'a']);
      expect(await v.get('a')).toEqual(videoJob('a', T0));
      expect(await v.get('nope')).toBeNull();
      // Progress replaces the stored job; a cancel asked elsewhere comes back to the owner at its next save.
      const moved = videoJob('b', T0 + 1_000, { progress: { percent: 50, frames: 30, totalFrames: 60, redacted: 29, etaS: 1, speedX: 5 } });
      expect(await v.requestCancel('b')).toBe(true);
      expect(await v.requestCancel('c')).toBe(false);
      expect(await v.save(moved, 'web-2', T0 + 3_000)).toEqual({ cancelRequested: true });
      expect((await v.get('b'))?.progress.percent).toBe(50);
      // a's heartbeat (T0) stopped; b's (T0 + 3 000) did not; c is done.
      const failed = await v.failStale(T0 + 2_000, 'interrupted: the server stopped before the job finished', T0 + 60_000);
      expect(failed.map((j) => [j.id, j.state, j.error, j.finishedAt])).toEqual([['a', 'failed', 'interrupted: the server stopped before the job finished', T0 + 60_000]]);
      expect(await v.failStale(T0 + 2_000, 'again', T0 + 61_000)).toEqual([]);
      expect((await v.get('a'))?.state).toBe('failed');
      expect((await v.get('b'))?.state).toBe('processing');
    }));

  it('keeps exports, newest first, and fails those a dead process left processing', () =>
    withStore(target, async (store) => {
      const x = store.exports;
      const base = { camera: 'gate', from: T0, to: T0 + 60_000, reason: 'incident 42', requestedBy: 'anonymous', state: 'processing' as const, error: null, mp4Sha256: null, mp4Bytes: null, files: null, finishedAt: null };
      await x.insert({ ...base, id: 'ex-old', createdAt: T0 });
      await x.insert({ ...base, id: 'ex-new', createdAt: T0 + 10_000 });
      await x.insert({ ...base, id: 'ex-done', createdAt: T0 + 1_000 });
      await x.finish('ex-done', { state: 'done', error: null, mp4Sha256: 'ab'.repeat(32), mp4Bytes: 10, hasPdf: true, at: T0 + 2_000 });
      expect((await x.list()).map((e) => e.id)).toEqual(['ex-new', 'ex-done', 'ex-old']);
      expect((await x.get('ex-done'))?.files).toEqual({ mp4: '/api/exports/ex-done/clip.mp4', html: '/api/exports/ex-done/report.html', pdf: '/api/exports/ex-done/report.pdf' });
      expect(await x.failInterrupted(T0 + 5_000, 'interrupted', T0 + 20_000)).toEqual(['ex-old']);
      expect(await x.get('ex-old')).toMatchObject({ state: 'failed', error: 'interrupted', finishedAt: T0 + 20_000 });
      expect((await x.get('ex-new'))?.state).toBe('processing');
      expect((await x.get('ex-done'))?.state).toBe('done');
    }));
});

describe.each(storeTargets('reid'))('Store contract (re-identification links) on $kind', (target) => {
  const link = (from: string, to: string, identity: string, linkedAt: number, over: Partial<ReidLink> = {}): ReidLink => ({
    identity,
    from,
    to,
    fromCamera: from.split(':')[0]!,
    toCamera: to.split(':')[0]!,
    transitSeconds: 12.5,
    appearance: 0.91,
    transit: 0.8,
    confidence: 0.728,
    linkedAt,
    ...over,
  });

  it('keeps identities as chains: one link per successor, by identity and by track, recent links oldest first, prune and purge', () =>
    withStore(target, async (store) => {
      const r = store.reid;
      await r.append([link('hall:1', 'gate:7', 'hall:1', T0), link('gate:7', 'yard:3', 'hall:1', T0 + 60_000)]);
      // The same successor again (a redelivered event): nothing changes.
      await r.append([link('hall:9', 'gate:7', 'hall:9', T0 + 1)]);
      await r.append([link('yard:5', 'hall:2', 'yard:5', T0 + 120_000, { transitSeconds: 40 })]);
      await r.append([]);
      expect(await r.links('hall:1')).toEqual([link('hall:1', 'gate:7', 'hall:1', T0), link('gate:7', 'yard:3', 'hall:1', T0 + 60_000)]);
      expect(await r.identityOf('yard:3')).toBe('hall:1');
      expect(await r.identityOf('hall:1')).toBe('hall:1');
      expect(await r.identityOf('hall:9')).toBeNull();
      expect((await r.recent(T0 + 30_000)).map((l) => l.to)).toEqual(['yard:3', 'hall:2']);
      expect((await r.recent(0, 1)).map((l) => l.to)).toEqual(['hall:2']);
      expect(await r.deleteCamera('hall')).toBe(2);
      expect((await r.links('hall:1')).map((l) => l.to)).toEqual(['yard:3']);
      expect(await r.prune(T0 + 100_000)).toBe(1);
      expect(await r.recent(0)).toEqual([]);
    }));
});
