import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile, copyFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import type { CameraView, ClientToServerEvents, RecordingIndexResponse, SearchResponse, ServerToClientEvents, VideoJob } from '@chronotrace/contracts';
import { startTestRuntime, waitFor, type TestRuntime } from './support/runtime';

const run = promisify(execFile);
const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';

/*
 * Uploaded videos end to end (embedded): a 640-px H.264 file cut from Debian's vtest.avi (pedestrians)
 * goes through privacy → scene → recording as a virtual camera, with progress over Socket.io; every
 * kind of bad file is refused with nothing left behind; a cancelled job leaves nothing either.
 */
describe('POST /api/videos', () => {
  let t: TestRuntime;
  let dir: string;
  let socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  const events: VideoJob[] = [];
  const wallFrames: string[] = [];
  const files: Record<'good' | 'long' | 'empty' | 'text' | 'audio' | 'truncated' | 'big', string> = { good: '', long: '', empty: '', text: '', audio: '', truncated: '', big: '' };

  const upload = async (path: string, name = 'clip.mp4'): Promise<{ status: number; body: VideoJob & { error?: string } }> => {
    const form = new FormData();
    form.set('file', new Blob([await readFile(path)]), name);
    const r = await fetch(`${t.url}/api/videos`, { method: 'POST', body: form });
    return { status: r.status, body: (await r.json()) as VideoJob & { error?: string } };
  };
  const uploadsLeft = async (): Promise<string[]> => readdir(join(t.dataDir, 'media', 'uploads')).catch(() => []);
  const uploadCameras = async (): Promise<string[]> => ((await (await fetch(`${t.url}/api/cameras`)).json()) as CameraView[]).filter((c) => c.origin === 'upload').map((c) => c.id);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ct-upload-'));
    files.good = join(dir, 'street.mp4');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', VTEST, '-t', '12', '-vf', 'scale=640:-2', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '30', '-movflags', '+faststart', files.good]);
    files.long = join(dir, 'long.mp4');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', VTEST, '-vf', 'scale=640:-2', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '34', files.long]);
    files.empty = join(dir, 'empty.mp4');
    await writeFile(files.empty, '');
    files.text = join(dir, 'notes.mp4');
    await writeFile(files.text, 'this is not a video, only text pretending to be one\n'.repeat(50));
    files.audio = join(dir, 'tone.m4a');
    await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'aac', files.audio]);
    files.truncated = join(dir, 'cut.mp4');
    await copyFile(files.good, files.truncated);
    await truncate(files.truncated, Math.floor((await stat(files.good)).size * 0.6));
    files.big = join(dir, 'big.mp4');
    await writeFile(files.big, Buffer.alloc(3 * 1024 * 1024 + 10, 7));
    t = await startTestRuntime([], { RECORDING: 'on', RECORDING_MIN_FREE_MB: '0', UPLOAD_MAX_MB: '3', UPLOAD_FPS: '5' });
    socket = io(t.url, { transports: ['websocket'] });
    socket.on('videoJob', (j) => events.push(j));
    socket.on('frame', (f) => wallFrames.push(f.meta.camera));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    // Watching every camera, as a wall does.
    socket.emit('watch', null);
    await waitFor('the watch applied', () => t.runtime.web.wall.toJSON().watchApplied >= 1, 10_000, 50);
  }, 120_000);
  afterAll(async () => {
    socket?.close();
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('processes a video as a virtual camera, with progress, and makes it searchable and playable', async () => {
    const r = await upload(files.good, 'street.mp4');
    expect(r.status).toBe(202);
    const job = r.body;
    expect(job).toMatchObject({ state: 'processing', fileName: 'street.mp4', codec: 'h264', width: 640, camera: `upload-${job.id}` });
    expect(job.durationS).toBeCloseTo(12, 0);
    const done = await waitFor('the job to finish', () => events.find((e) => e.id === job.id && e.state !== 'processing'), 120_000, 200);
    expect(done.state).toBe('done');
    expect(done.error).toBeNull();
    const progress = events.filter((e) => e.id === job.id && e.state === 'processing').map((e) => e.progress.percent);
    expect(progress.length).toBeGreaterThan(1);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!).toBeGreaterThanOrEqual(progress[i - 1]!);
    expect(done.progress.redacted).toBeGreaterThanOrEqual(55); // 12 s at 5 fps
    expect(done.progress.speedX).not.toBeNull();
    // Its frames, faster than real time, were not pushed to the wall watching every camera.
    expect(wallFrames.filter((c) => c === job.camera)).toEqual([]);
    // The raw upload is gone; the redacted recording and the tracks stay.
    expect(await uploadsLeft()).toEqual([]);
    const hits = await waitFor(
      'person tracks of the upload',
      async () => {
        const s = (await (await fetch(`${t.url}/api/search?q=person&camera=${job.camera}`)).json()) as SearchResponse;
        return s.hits.length > 0 ? s.hits : undefined;
      },
      30_000,
      500,
    );
    for (const h of hits) {
      expect(h.start).toBeGreaterThanOrEqual(job.startAt);
      expect(h.end).toBeLessThanOrEqual(job.startAt + 12_500);
    }
    const rec = (await (await fetch(`${t.url}/api/cameras/${job.camera}/recording?from=${job.startAt - 1}&to=${job.startAt + 60_000}`)).json()) as RecordingIndexResponse;
    expect(rec.segments.length).toBeGreaterThanOrEqual(5);
    // Recorded at the video's pace: the segments span its 12 s, not the seconds it took to process.
    const span = rec.segments[rec.segments.length - 1]!.endAt - rec.segments[0]!.startAt;
    expect(span).toBeGreaterThan(11_000);
    expect(span).toBeLessThan(13_500);
    // From its very first frame (none lost while the recorder's ffmpeg started).
    expect(rec.segments[0]!.startAt).toBe(job.startAt);
    // All of it lies in the past (the job ran faster than real time): the default range, the last hour, holds every segment.
    expect(job.startAt + job.durationS * 1000).toBeLessThanOrEqual(job.createdAt);
    const recent = (await (await fetch(`${t.url}/api/cameras/${job.camera}/recording`)).json()) as RecordingIndexResponse;
    expect(recent.segments.map((x) => x.id)).toEqual(rec.segments.map((x) => x.id));
    expect((await (await fetch(`${t.url}/api/videos/${job.id}`)).json()) as VideoJob).toMatchObject({ state: 'done' });
  });

  it.each([
    ['empty', 422, /empty/],
    ['text', 422, /not a video file/],
    ['audio', 422, /no video stream/],
    ['truncated', 422, /truncated|damaged|not a video/],
    ['big', 413, /larger than the 3 MB/],
  ] as const)('refuses a %s file with %i and leaves nothing', async (kind, status, message) => {
    const before = await uploadCameras();
    const r = await upload(files[kind], `${kind}.mp4`);
    expect(r.status).toBe(status);
    expect(r.body.error).toMatch(message);
    expect(await uploadsLeft()).toEqual([]);
    expect(await uploadCameras()).toEqual(before);
  });

  it('refuses a body that is not multipart, and a multipart body without a file part', async () => {
    const json = await fetch(`${t.url}/api/videos`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(415);
    const form = new FormData();
    form.set('note', 'no file here');
    const none = await fetch(`${t.url}/api/videos`, { method: 'POST', body: form });
    expect(none.status).toBe(400);
    expect(((await none.json()) as { error: string }).error).toMatch(/part named "file"/);
  });

  it('cancels a running job: its camera, tracks and recording are removed', async () => {
    const r = await upload(files.long, 'long.mp4');
    expect(r.status).toBe(202);
    const job = r.body;
    await waitFor('some progress', () => events.find((e) => e.id === job.id && e.progress.redacted >= 10), 60_000, 100);
    const del = await fetch(`${t.url}/api/videos/${job.id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    const end = await waitFor('the cancellation', () => events.find((e) => e.id === job.id && e.state !== 'processing'), 30_000, 100);
    expect(end.state).toBe('cancelled');
    await waitFor('the camera removed', async () => !(await uploadCameras()).includes(job.camera), 20_000, 200);
    expect((await fetch(`${t.url}/api/cameras/${job.camera}`)).status).toBe(404);
    expect(existsSync(join(t.dataDir, 'media', 'recordings', job.camera))).toBe(false);
    expect(await t.runtime.ports.store.recordings.list(job.camera)).toEqual([]);
    expect(await t.runtime.ports.store.trackSummaries.search({ classes: ['person'], cameras: [job.camera], limit: 10 })).toEqual([]);
    expect(await uploadsLeft()).toEqual([]);
    expect((await fetch(`${t.url}/api/videos/${job.id}`, { method: 'DELETE' })).status).toBe(409);
  });
});
