import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraView, RecordingIndexResponse, SearchResponse, VideoJob } from '@chronotrace/contracts';
import { startTestRuntime, waitFor, type TestRuntime } from './support/runtime';

const run = promisify(execFile);
const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';

/*
 * A server killed (SIGKILL) in the middle of an upload job: the next start fails that job with the
 * reason and removes everything it had stored (camera, tracks, recording, the file), so nothing is
 * left half-processed and GET /api/videos tells the uploader what happened.
 */
describe('an upload job interrupted by a crash', () => {
  let dir: string;
  let dataDir: string;
  let child: ChildProcess | null = null;
  let t: TestRuntime | null = null;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ct-upload-restart-'));
    dataDir = join(dir, 'data');
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is failed and cleaned up at the next start', async () => {
    const file = join(dir, 'street.mp4');
    await run('ffmpeg', ['-v', 'error', '-y', '-stream_loop', '2', '-i', VTEST, '-vf', 'scale=640:-2', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '34', file]);
    child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'support', 'runtime-process.ts')], { env: { ...process.env, DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((resolve, reject) => {
      child!.once('exit', (code) => reject(new Error(`the server exited (${code}) before it served`)));
      createInterface({ input: child!.stdout! }).on('line', (l) => l.startsWith('url ') && resolve(l.slice(4)));
    });
    const form = new FormData();
    form.set('file', new Blob([await readFile(file)]), 'street.mp4');
    const res = await fetch(`${url}/api/videos`, { method: 'POST', body: form });
    expect(res.status).toBe(202);
    const job = (await res.json()) as VideoJob;
    // Killed once frames are redacted and tracks stored, long before the end.
    await waitFor('some frames redacted and a segment recorded', async () => {
      const j = (await (await fetch(`${url}/api/videos/${job.id}`)).json()) as VideoJob;
      const rec = (await (await fetch(`${url}/api/cameras/${job.camera}/recording`)).json()) as RecordingIndexResponse;
      return j.progress.redacted >= 30 && rec.segments.length > 0 ? true : undefined;
    }, 60_000, 200);
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    child = null;

    t = await startTestRuntime([], { RECORDING: 'on', RECORDING_MIN_FREE_MB: '0' }, dataDir);
    const after = (await (await fetch(`${t.url}/api/videos/${job.id}`)).json()) as VideoJob;
    expect(after).toMatchObject({ id: job.id, state: 'failed', error: expect.stringMatching(/interrupted: the server stopped before the job finished/) });
    expect(((await (await fetch(`${t.url}/api/videos`)).json()) as VideoJob[]).map((j) => [j.id, j.state])).toEqual([[job.id, 'failed']]);
    // Nothing of it is left: no camera, no tracks, no recording, no file.
    const cameras = (await (await fetch(`${t.url}/api/cameras`)).json()) as CameraView[];
    expect(cameras.map((c) => c.id)).not.toContain(job.camera);
    const search = (await (await fetch(`${t.url}/api/search?q=person`)).json()) as SearchResponse;
    expect(search.hits.filter((h) => h.camera === job.camera)).toEqual([]);
    expect(await t.runtime.ports.store.recordings.totals(job.camera)).toMatchObject({ segments: 0 });
    expect(await t.runtime.ports.store.trackSummaries.inRange(job.camera, 0, Date.now() + 60_000)).toEqual([]);
    expect((await readdir(join(dataDir, 'media', 'uploads')).catch(() => [])).filter((f) => f.startsWith(job.id))).toEqual([]);
    expect(await readdir(join(dataDir, 'media', 'recordings')).catch(() => [])).not.toContain(job.camera);
    // Cancelling it now says it has ended.
    expect((await fetch(`${t.url}/api/videos/${job.id}`, { method: 'DELETE' })).status).toBe(409);
  }, 180_000);
});
