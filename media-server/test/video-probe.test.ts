import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import installer from '@ffmpeg-installer/ffmpeg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FfprobeMissingError, ffprobePath, probeFfmpeg, probeVideo, resolveFfmpeg, type FfmpegBinary } from '../src/index';

const run = promisify(execFile);
const LIMITS = { maxBytes: 50 * 1024 ** 2, maxSeconds: 60, containers: ['mp4', 'matroska', 'avi'], codecs: ['h264', 'mpeg4'] };

let dir: string;
let clip: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ct-probe-'));
  clip = join(dir, 'clip.mp4');
  const ffmpeg = await resolveFfmpeg();
  await run(ffmpeg.path, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10', '-t', '3', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', clip]);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('probeVideo with the ffprobe a machine has', () => {
  it('finds an ffprobe for the bundled static ffmpeg too (a machine with no apt step), and it validates a file', async () => {
    const bundled = await probeFfmpeg(installer.path, 'bundled');
    const path = ffprobePath(bundled);
    expect(path).toMatch(/@ffprobe-installer\/linux-x64\/ffprobe$/);
    const probed = await probeVideo(clip, bundled, LIMITS);
    expect(probed).toMatchObject({ ok: true, probe: { codec: 'h264', width: 320, height: 240 } });
    if (probed.ok) expect(probed.probe.durationS).toBeCloseTo(3, 0);
  });

  it('says the server cannot check files when ffprobe cannot run, rather than blaming the file', async () => {
    const fake = join(dir, 'bin', 'ffmpeg');
    await run('mkdir', ['-p', join(dir, 'bin')]);
    await writeFile(fake, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    // A "system" ffmpeg whose folder has no ffprobe falls back to the bundled one, which works.
    const system: FfmpegBinary = { path: fake, origin: 'system', version: 'x', rtspTimeoutOption: 'timeout' };
    expect(ffprobePath(system)).toMatch(/@ffprobe-installer/);
    // A folder with an ffprobe that is not executable: that one is used, and the failure is the server's.
    await writeFile(join(dir, 'bin', 'ffprobe'), 'not a program', { mode: 0o644 });
    await expect(probeVideo(clip, system, LIMITS)).rejects.toBeInstanceOf(FfprobeMissingError);
  });
});
