import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { cameraSchema, type CameraRecord, type RecordingSegment } from '@chronotrace/contracts';
import { InProcessBus, MediaFiles, S3ObjectStore, createLogger, openStore, parseEnv, type SqlStore } from '@chronotrace/platform';
import { startS3, type TestS3 } from '../../test/support/s3-server';
import { resolveFfmpeg } from '../src/ffmpeg-binary';
import { RecordingService } from '../src/recording/recording-service';
import { vodPlaylist } from '../src/recording/hls-playlist';
import { movingSquareFrames, pace } from './support/frames';
import { waitFor } from '../../test/support/runtime';

const run = promisify(execFile);
const log = createLogger('test');
log.level = 'silent';
const PG_URL = parseEnv({ DATABASE_URL: process.env.DATABASE_URL }).DATABASE_URL;

function camera(id: string, recording: Partial<CameraRecord['recording']> = {}): CameraRecord {
  const c = cameraSchema.parse({ id, name: id, source: 'testsrc:testsrc2', fps: 10, recording: { enabled: true, retainDays: 7, retainGb: 10, ...recording } });
  return { ...c, origin: 'api', createdAt: 0 };
}

/** Frames ffprobe decodes from a run's init segment followed by one media segment. */
async function decodedFrames(root: string, s: RecordingSegment): Promise<number> {
  const joined = join(root, `probe-${s.run}-${s.seq}.mp4`);
  await writeFile(joined, Buffer.concat([await readFile(join(root, s.initPath)), await readFile(join(root, s.path))]));
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,nb_read_frames,width,height', '-of', 'json', joined]);
  await rm(joined);
  const stream = (JSON.parse(stdout) as { streams: { codec_name: string; nb_read_frames: string; width: number; height: number }[] }).streams[0]!;
  expect(stream.codec_name).toBe('h264');
  expect([stream.width, stream.height]).toEqual([s.width, s.height]);
  return Number(stream.nb_read_frames);
}

let frames: Buffer[];
beforeAll(async () => {
  frames = await movingSquareFrames(40, 320, 240);
});

describe('RecordingService', () => {
  let store: SqlStore;
  let root: string;
  let service: RecordingService | null = null;
  let stop: (() => void) | null = null;

  afterEach(async () => {
    stop?.();
    stop = null;
    await service?.close();
    service = null;
    await store?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function setup(cameras: CameraRecord[], extra: Partial<ConstructorParameters<typeof RecordingService>[0]> = {}): Promise<RecordingService> {
    store = await openStore({ kind: 'pglite' });
    root = await mkdtemp(join(tmpdir(), 'ct-rec-'));
    service = new RecordingService({ recordings: store.recordings, cameras: () => cameras, ffmpeg: resolveFfmpeg, root, log, minFreeBytes: 0, ...extra });
    await service.start(new InProcessBus());
    return service;
  }

  it('records 2 s fMP4 segments that play, indexed with the capture times of their frames', async () => {
    const s = await setup([camera('gate')]);
    const pushed: number[] = [];
    const first = Date.now();
    stop = pace(frames, 10, (jpeg, at) => {
      pushed.push(at);
      s.push('gate', jpeg, at);
    });
    const segs = await waitFor('3 segments', async () => {
      const l = await store.recordings.list('gate');
      return l.length >= 3 ? l : undefined;
    }, 40_000);
    for (const seg of segs.slice(0, 3)) {
      expect(seg.path).toMatch(/^recordings\/gate\/[0-9a-z]+\/seg-\d{6}\.m4s$/);
      expect(existsSync(join(root, seg.path))).toBe(true);
      expect(seg.endAt - seg.startAt).toBeGreaterThanOrEqual(1_500);
      expect(seg.endAt - seg.startAt).toBeLessThanOrEqual(4_100);
      expect(seg.keyframes).toBeGreaterThanOrEqual(1);
      expect(await decodedFrames(root, seg)).toBe(seg.frames);
    }
    // Timed by capture: every segment starts on a frame pushed (the first ones while ffmpeg started are dropped), contiguously.
    for (const seg of segs.slice(0, 3)) expect(Math.min(...pushed.map((p) => Math.abs(p - seg.startAt)))).toBeLessThan(30);
    expect(segs[0]!.startAt).toBeGreaterThanOrEqual(first);
    // Contiguous: a segment ends where the next begins, on the same frame.
    for (let i = 1; i < 3; i++) expect(segs[i]!.startAt).toBe(segs[i - 1]!.endAt);
    const health = await s.health('gate');
    expect(health).toMatchObject({ state: 'recording', error: null });
    expect(health.segments).toBeGreaterThanOrEqual(3);

    // A VOD playlist of the index plays through (ffprobe follows its init and media URIs on disk).
    const m3u8 = vodPlaylist(segs.slice(0, 3), { segmentUrl: (x) => join(root, x.path), initUrl: (x) => join(root, x.initPath) });
    await writeFile(join(root, 'vod.m3u8'), m3u8);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-allowed_extensions', 'ALL', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'json', join(root, 'vod.m3u8')]);
    const probed = (JSON.parse(stdout) as { streams: { nb_read_frames: string }[] }).streams.map((x) => Number(x.nb_read_frames));
    expect(probed[0], `ffprobe said ${stdout} of\n${m3u8}`).toBe(segs.slice(0, 3).reduce((n, x) => n + x.frames, 0));
  });

  it('holds the frames of a camera it does not know yet while the list is re-read, then records them from the first', async () => {
    const cams: CameraRecord[] = [];
    const pushed: number[] = [];
    let reads = 0;
    let fifteenPushed!: () => void;
    const fifteen = new Promise<void>((r) => (fifteenPushed = r));
    // Another process created an upload's camera; the re-read sees it only 15 frames (1.5 s) later, as a slow poll would.
    const s = await setup([], { cameras: () => cams, refreshCameras: async () => {
      reads++;
      await fifteen;
      cams.splice(0, cams.length, { ...camera('late'), origin: 'upload', enabled: false });
    } });
    stop = pace(frames, 10, (jpeg, at) => {
      pushed.push(at);
      if (pushed.length === 15) fifteenPushed();
      s.push('late', jpeg, at);
      s.push('nobody', jpeg, at);
    });
    const segs = await waitFor('a segment of the camera made elsewhere', async () => {
      const l = await store.recordings.list('late');
      return l.length > 0 ? l : undefined;
    }, 40_000);
    // Recorded from the very first frame pushed, before the list knew the camera (without holding: from frame 15 or later).
    expect(segs[0]!.startAt).toBe(pushed[0]);
    // A camera nobody made: its frames are dropped, nothing recorded.
    expect(reads).toBeGreaterThanOrEqual(2);
    expect(await store.recordings.list('nobody')).toEqual([]);
  });

  it('does not record a camera whose recording is off', async () => {
    const s = await setup([camera('off', { enabled: false }), camera('on')]);
    stop = pace(frames, 10, (jpeg, at) => {
      s.push('off', jpeg, at);
      s.push('on', jpeg, at);
    });
    await waitFor('a segment of the recording camera', async () => (await store.recordings.list('on')).length > 0, 40_000);
    expect(await store.recordings.list('off')).toEqual([]);
    expect((await s.health('off')).state).toBe('off');
    expect(existsSync(join(root, 'recordings', 'off'))).toBe(false);
  });

  it('prunes past the retention, oldest first, and spares segments a hold covers', async () => {
    let now = Date.now();
    const cam = camera('lot', { retainDays: 1 });
    const s = await setup([cam], { now: () => now, pruneEveryMs: 3_600_000 });
    stop = pace(frames, 10, (jpeg, at) => s.push('lot', jpeg, at));
    const segs = await waitFor('4 segments', async () => {
      const l = await store.recordings.list('lot');
      return l.length >= 4 ? l : undefined;
    }, 40_000);
    stop();
    stop = null;
    // Hold the second segment (an export refers to it), then jump two days ahead.
    await store.recordings.addHold({ id: 'ex-1', camera: 'lot', from: segs[1]!.startAt + 10, to: segs[1]!.startAt + 20, reason: 'export', createdAt: now });
    now += 2 * 86_400_000;
    await s.prune();
    const left = await store.recordings.list('lot');
    expect(left.map((x) => x.seq)).toContain(segs[1]!.seq);
    for (const x of left) expect(existsSync(join(root, x.path))).toBe(true);
    expect(existsSync(join(root, segs[0]!.path))).toBe(false);
    // Everything not held and ended before the cut went (the recorder may have finished one more meanwhile).
    expect(left.filter((x) => x.endAt <= now - 86_400_000 && x.seq !== segs[1]!.seq)).toEqual([]);
  });

  it('prunes the oldest segments when a camera is over its size cap', async () => {
    const cam = camera('cap', { retainGb: 1e-9 * 1 }); // 1 byte: everything unheld goes, oldest first
    const s = await setup([cam], { pruneEveryMs: 3_600_000 });
    stop = pace(frames, 10, (jpeg, at) => s.push('cap', jpeg, at));
    const segs = await waitFor('3 segments', async () => {
      const l = await store.recordings.list('cap');
      return l.length >= 3 ? l : undefined;
    }, 40_000);
    await store.recordings.addHold({ id: 'inc-1', camera: 'cap', from: segs[2]!.startAt, to: segs[2]!.endAt, reason: 'incident', createdAt: Date.now() });
    await s.prune();
    const left = await store.recordings.list('cap');
    expect(left.map((x) => x.seq)).toContain(segs[2]!.seq);
    expect(left.map((x) => x.seq)).not.toContain(segs[0]!.seq);
    expect(left.map((x) => x.seq)).not.toContain(segs[1]!.seq);
  });

  it('stops with a health error when the disk is full, keeps the index, and resumes when space is back', async () => {
    let free = 10 * 1024 ** 3;
    const s = await setup([camera('dock')], { minFreeBytes: 1024 ** 3, freeBytes: async () => free, diskCheckEveryMs: 3_600_000 });
    stop = pace(frames, 10, (jpeg, at) => s.push('dock', jpeg, at));
    await waitFor('a segment', async () => (await store.recordings.list('dock')).length >= 1, 40_000);
    free = 100 * 1024 ** 2;
    await s.checkDisk();
    const h = await s.health('dock');
    expect(h.state).toBe('stopped');
    expect(h.error).toMatch(/disk full \(100 MB free/);
    const kept = await store.recordings.list('dock');
    for (const x of kept) expect(existsSync(join(root, x.path))).toBe(true);
    // Nothing more is recorded while stopped: the last segment (finished on pause) stays the last.
    const before = kept.length;
    const framesIn = s.stats().cameras.dock!.framesIn;
    await waitFor('3 s of frames pushed while stopped', () => s.stats().cameras.dock!.framesIn >= framesIn + 30, 40_000);
    expect(await store.recordings.list('dock')).toHaveLength(before);
    free = 10 * 1024 ** 3;
    await s.checkDisk();
    await waitFor('recording again', async () => (await store.recordings.list('dock')).length > before, 40_000);
    expect((await s.health('dock')).state).toBe('recording');
  });
});

describe('RecordingService with MEDIA_STORE=s3 (an S3-compatible server)', () => {
  let s3: TestS3;
  let store: SqlStore;
  let root: string;
  let service: RecordingService | null = null;
  let stop: (() => void) | null = null;
  beforeAll(async () => {
    s3 = await startS3();
  });
  afterAll(async () => {
    stop?.();
    await service?.close();
    await store?.close();
    await s3?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('moves each indexed segment to the bucket (init first), plays it from there, prunes it there, and a restart keeps it', async () => {
    const archive = await S3ObjectStore.open({ bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', credentials: s3.credentials, prefix: 'ct/' });
    store = await openStore({ kind: 'pglite' });
    root = await mkdtemp(join(tmpdir(), 'ct-rec-s3-'));
    let now = Date.now();
    const cams = [camera('dock', { retainDays: 1 })];
    const open = async (): Promise<RecordingService> => {
      const r = new RecordingService({ recordings: store.recordings, cameras: () => cams, ffmpeg: resolveFfmpeg, root, log, minFreeBytes: 0, archive, archiveEveryMs: 200, now: () => now, pruneEveryMs: 3_600_000 });
      await r.start(new InProcessBus());
      return r;
    };
    service = await open();
    const s = service;
    stop = pace(frames, 10, (jpeg, at) => s.push('dock', jpeg, at));
    const archived = await waitFor('3 archived segments', async () => {
      const l = (await store.recordings.list('dock')).filter((x) => x.archived);
      return l.length >= 3 ? l : undefined;
    }, 40_000);
    stop();
    stop = null;
    // The local copies are gone; the bucket has them and their init segment, and they play from there.
    const media = new MediaFiles(root, archive);
    const copy = await mkdtemp(join(tmpdir(), 'ct-rec-s3-copy-'));
    for (const seg of archived.slice(0, 3)) {
      expect(existsSync(join(root, seg.path))).toBe(false);
      for (const key of [seg.initPath, seg.path]) {
        await run('mkdir', ['-p', join(copy, key, '..')]);
        expect(await archive.download(key, join(copy, key))).toBe(true);
      }
      expect(await decodedFrames(copy, seg)).toBe(seg.frames);
      const body = await media.get(seg.path);
      expect(body?.bytes).toBe(seg.bytes);
      body?.stream.destroy();
    }
    await rm(copy, { recursive: true, force: true });
    expect(s.stats().archived).toMatchObject({ segments: expect.any(Number), failures: 0 });

    // A restart keeps archived rows (their files are not on this disk, and that is right).
    await s.close();
    service = await open();
    const kept = (await store.recordings.list('dock')).filter((x) => x.archived).map((x) => x.id);
    expect(kept).toEqual(expect.arrayContaining(archived.map((x) => x.id)));

    // Retention deletes archived segments from the bucket, not only their rows.
    now += 2 * 86_400_000;
    await service.prune();
    expect(await store.recordings.list('dock')).toEqual([]);
    for (const seg of archived) expect(await archive.get(seg.path)).toBeNull();
    archive.close();
  });
});

describe('RecordingService after a SIGKILL', () => {
  const schema = `ct_rec_kill_${process.pid}_${Date.now().toString(36)}`;
  let root: string;

  afterAll(async () => {
    const admin = postgres(PG_URL, { max: 1, onnotice: () => undefined });
    await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end({ timeout: 5 });
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('leaves an index that points only at playable segments, partial files removed, finished ones adopted', async () => {
    root = await mkdtemp(join(tmpdir(), 'ct-rec-kill-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'media-server/test/support/record-process.ts'], {
      cwd: join(import.meta.dirname, '../..'),
      env: { ...process.env, DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, MEDIA_ROOT: root },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await waitFor(`3 segments indexed by the child (stderr: ${err.slice(-400)})`, () => (out.match(/^segment /gm)?.length ?? 0) >= 3, 40_000);
    // Kill the recorder's ffmpeg and the process itself without warning, mid-segment.
    const children = (await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean).map(Number);
    for (const pid of children) process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const indexedByChild = out.match(/^segment /gm)!.length;

    const store = await openStore({ kind: 'postgres', url: PG_URL, schema });
    const service = new RecordingService({ recordings: store.recordings, cameras: () => [camera('yard')], ffmpeg: resolveFfmpeg, root, log, minFreeBytes: 0 });
    try {
      await service.start(new InProcessBus());
      const segs = await store.recordings.list('yard');
      expect(segs.length).toBeGreaterThanOrEqual(indexedByChild);
      for (const s of segs) {
        expect(existsSync(join(root, s.path))).toBe(true);
        expect(await decodedFrames(root, s)).toBe(s.frames);
      }
      // No partial or temporary segment file is left beside the indexed ones.
      const runDirs = await readdir(join(root, 'recordings', 'yard'));
      const indexed = new Set(segs.map((s) => s.path));
      for (const r of runDirs) {
        for (const f of await readdir(join(root, 'recordings', 'yard', r))) {
          if (f.endsWith('.m4s') || f.endsWith('.tmp')) expect(indexed.has(`recordings/yard/${r}/${f}`)).toBe(true);
        }
      }
    } finally {
      await service.close();
      await store.close();
    }
  });
});
