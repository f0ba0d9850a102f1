import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvidenceExport, RecordingSegment, VideoJob } from '@chronotrace/contracts';
import { S3ObjectStore } from '@chronotrace/platform';
import { startS3, type TestS3 } from './support/s3-server';
import { startTestRuntime, waitFor, type TestRuntime } from './support/runtime';

const run = promisify(execFile);
const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';

/*
 * MEDIA_STORE=s3 end to end (embedded, against s3rver, an S3-compatible server from npm): the
 * recording moves to the bucket segment by segment and plays from there through the API, an export
 * of archived footage is cut from the bucket's copy and itself stored in the bucket, and a removed
 * upload's recording is deleted from the bucket.
 */
describe('recorded media in S3-compatible object storage', () => {
  let s3: TestS3;
  let bucket: S3ObjectStore;
  let t: TestRuntime;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ct-s3-e2e-'));
    s3 = await startS3();
    bucket = await S3ObjectStore.open({ bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', credentials: s3.credentials, prefix: 'site-a/' });
    t = await startTestRuntime([{ id: 'street', name: 'Street', source: VTEST, fps: 5, width: 480 }], {
      RECORDING: 'on',
      RECORDING_MIN_FREE_MB: '0',
      MEDIA_STORE: 's3',
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_PREFIX: 'site-a/',
      S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    });
  }, 90_000);
  afterAll(async () => {
    await t?.close();
    bucket?.close();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('archives the recording, serves it from the bucket, and exports from it into the bucket', async () => {
    const segs = await waitFor('4 archived segments', async () => {
      const l = (await t.runtime.ports.store.recordings.list('street')).filter((s) => s.archived);
      return l.length >= 4 ? l : undefined;
    }, 120_000, 500);
    // Served through the API from the bucket (the local copy is gone), byte for byte.
    for (const s of segs.slice(0, 2)) {
      expect(existsSync(join(t.dataDir, 'media', s.path))).toBe(false);
      const served = Buffer.from(await (await fetch(`${t.url}/api/cameras/street/recording/${s.run}/${s.path.split('/').pop()}`)).arrayBuffer());
      const stored = join(dir, `${s.id}.m4s`);
      expect(await bucket.download(s.path, stored)).toBe(true);
      expect(served.equals(await readFile(stored))).toBe(true);
      expect(served.length).toBe(s.bytes);
    }
    const init = await fetch(`${t.url}/api/cameras/street/recording/${segs[0]!.run}/init.mp4`);
    expect(init.status).toBe(200);

    // An export of two archived segments: cut from the bucket's copies, stored in the bucket, served from it.
    const from = segs[1]!.startAt;
    const to = segs[2]!.endAt;
    const r = await fetch(`${t.url}/api/exports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ camera: 'street', from, to, reason: 'archived footage' }) });
    expect(r.status).toBe(202);
    const id = ((await r.json()) as EvidenceExport).id;
    const done = await waitFor('the export', async () => {
      const e = (await (await fetch(`${t.url}/api/exports/${id}`)).json()) as EvidenceExport;
      return e.state !== 'processing' ? e : undefined;
    }, 90_000, 300);
    expect(done).toMatchObject({ state: 'done', error: null });
    const mp4 = Buffer.from(await (await fetch(`${t.url}${done.files!.mp4}`)).arrayBuffer());
    expect(createHash('sha256').update(mp4).digest('hex')).toBe(done.mp4Sha256);
    expect(await bucket.get(`exports/${id}/clip.mp4`)).not.toBeNull();
    expect(existsSync(join(t.dataDir, 'media', 'exports', id))).toBe(false);
    await writeFile(join(dir, 'clip.mp4'), mp4);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'json', join(dir, 'clip.mp4')]);
    expect(Math.abs(Number((JSON.parse(stdout) as { format: { duration: string } }).format.duration) - (to - from) / 1000)).toBeLessThan(1);
  }, 240_000);

  it('deletes a cancelled upload’s recording from the bucket too', async () => {
    const file = join(dir, 'long.mp4');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', VTEST, '-vf', 'scale=640:-2', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '34', file]);
    const form = new FormData();
    form.set('file', new Blob([await readFile(file)]), 'long.mp4');
    const job = (await (await fetch(`${t.url}/api/videos`, { method: 'POST', body: form })).json()) as VideoJob;
    const archived = await waitFor('an archived segment of the upload', async () => {
      const l = (await t.runtime.ports.store.recordings.list(job.camera)).filter((s) => s.archived);
      return l.length > 0 ? l : undefined;
    }, 60_000, 200);
    expect(await bucket.get(archived[0]!.path)).not.toBeNull();
    expect((await fetch(`${t.url}/api/videos/${job.id}`, { method: 'DELETE' })).status).toBe(204);
    await waitFor('the job cancelled', async () => ((await (await fetch(`${t.url}/api/videos/${job.id}`)).json()) as VideoJob).state === 'cancelled', 30_000, 200);
    // Gone from the index and from the bucket (the cleanup's second pass included).
    const gone = async (s: RecordingSegment): Promise<boolean> => (await bucket.get(s.path)) === null;
    await waitFor('the bucket emptied of the upload', async () => (await t.runtime.ports.store.recordings.list(job.camera)).length === 0 && (await Promise.all(archived.map(gone))).every(Boolean), 30_000, 300);
  }, 120_000);
});
