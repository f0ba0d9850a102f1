import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { VideoJob } from '@chronotrace/contracts';
import type { Runtime } from '../web/server/runtime';

const run = promisify(execFile);

export interface UploadFigures {
  upload_speed_x_realtime: number;
  video_s: number;
  processing_s: number;
  frames: number;
  redacted: number;
  fps: number;
  how: string;
}

/**
 * An uploaded 640-px H.264 file (`seconds` of Debian's vtest.avi: pedestrians) processed by the running
 * embedded runtime with every redaction on: speed = video seconds / wall seconds from the 202 to the
 * job's end (privacy, tracking, summaries and the redacted recording all included).
 */
export async function measureUpload(rt: Runtime, source: string, seconds: number): Promise<UploadFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'ct-bench-upload-'));
  try {
    const file = join(dir, 'clip.mp4');
    await run('ffmpeg', ['-v', 'error', '-y', '-stream_loop', '-1', '-i', source, '-t', String(seconds), '-vf', 'scale=640:-2', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', file]);
    const form = new FormData();
    form.set('file', new Blob([await readFile(file)]), 'clip.mp4');
    const res = await fetch(`${rt.url}/api/videos`, { method: 'POST', body: form });
    if (res.status !== 202) throw new Error(`upload refused: ${res.status} ${await res.text()}`);
    const t0 = performance.now();
    const job = (await res.json()) as VideoJob;
    let last: VideoJob = job;
    while (last.state === 'processing') {
      await new Promise((r) => setTimeout(r, 200));
      last = (await (await fetch(`${rt.url}/api/videos/${job.id}`)).json()) as VideoJob;
    }
    const wallS = (performance.now() - t0) / 1000;
    if (last.state !== 'done') throw new Error(`upload job ended ${last.state}: ${last.error}`);
    return {
      upload_speed_x_realtime: Math.round((job.durationS / wallS) * 100) / 100,
      video_s: job.durationS,
      processing_s: Math.round(wallS * 10) / 10,
      frames: last.progress.frames,
      redacted: last.progress.redacted,
      fps: rt.videoJobs.fps,
      how: `a ${seconds} s 640-px H.264 file cut from vtest.avi, POST /api/videos to an embedded runtime with no live cameras, all redaction on (faces, heads, plates; analysis 2 fps), frames taken at UPLOAD_FPS; speed = video seconds / seconds from the 202 to the job's end`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
