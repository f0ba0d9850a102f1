import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SearchResponse, VideoJob } from '@chronotrace/contracts';
import { startTestRuntime, type TestRuntime } from '../../test/support/runtime';
import { table } from '../src/main';

const run = promisify(execFile);
const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
const BIN = join(import.meta.dirname, '../bin/chronotrace.mjs');

/** Runs the CLI as a user would, in its own process; resolves with its exit code and output. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

describe('npx chronotrace', () => {
  let t: TestRuntime;
  let dir: string;
  let clip: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ct-cli-'));
    clip = join(dir, 'street.mp4');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', VTEST, '-t', '8', '-vf', 'scale=640:-2', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '30', clip]);
    t = await startTestRuntime([], { RECORDING: 'on', RECORDING_MIN_FREE_MB: '0' });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('ingests a batch of files, reporting each, and exits 1 when one of them is refused', async () => {
    const r = await cli(['ingest', clip, join(dir, 'missing.mp4'), '--url', t.url, '--json']);
    expect(r.code).toBe(1);
    const results = JSON.parse(r.stdout) as ({ file: string; ok: true; job: VideoJob } | { file: string; ok: false; error: string })[];
    expect(results).toHaveLength(2);
    const [good, missing] = results;
    expect(good).toMatchObject({ file: clip, ok: true, job: { state: 'done', fileName: 'street.mp4' } });
    expect(missing).toMatchObject({ ok: false, error: 'no such file' });

    const camera = good?.ok ? good.job.camera : '';
    const s = await cli(['search', 'person', '--camera', camera, '--url', t.url, '--json']);
    expect(s.code).toBe(0);
    const body = JSON.parse(s.stdout) as SearchResponse;
    expect(body.hits.length).toBeGreaterThan(0);
    expect(body.hits.every((h) => h.camera === camera)).toBe(true);

    const text = await cli(['search', 'person', '--camera', camera, '--url', t.url]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^score\s+what\s+camera/m);
    expect(text.stdout).toContain(`Upload: street.mp4`);
  });

  it('says what the compiler did not understand, and exits 1', async () => {
    const r = await cli(['search', 'persn in red', '--url', t.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/"persn": did you mean person/);
  });

  it('prints its usage for no command and fails clearly when the server is not there', async () => {
    expect((await cli([])).code).toBe(2);
    const down = await cli(['search', 'person', '--url', 'http://127.0.0.1:9']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/is the server at http:\/\/127\.0\.0\.1:9 running\?/);
  });

  it('pads a table to its widest cells', () => {
    expect(table(['a', 'bb'], [['ccc', 'd']])).toBe('a    bb\n---  --\nccc  d\n');
  });
});
