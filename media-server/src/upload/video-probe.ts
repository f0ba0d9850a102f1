import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { FfmpegBinary } from '../ffmpeg-binary';

const run = promisify(execFile);

/** What an uploaded file must be. */
export interface VideoLimits {
  maxBytes: number;
  maxSeconds: number;
  /** ffprobe format names, any of which the container's may contain (e.g. "mov,mp4,m4a,3gp,3g2,mj2"). */
  containers: readonly string[];
  /** ffprobe codec names of the video stream. */
  codecs: readonly string[];
}

export const DEFAULT_VIDEO_CONTAINERS = ['mov', 'mp4', 'matroska', 'webm', 'avi', 'mpegts', 'flv', 'mpeg'] as const;
export const DEFAULT_VIDEO_CODECS = ['h264', 'hevc', 'mpeg4', 'mpeg2video', 'vp8', 'vp9', 'av1', 'mjpeg', 'msmpeg4v3', 'msmpeg4v2', 'h263', 'theora'] as const;

export interface VideoProbe {
  container: string;
  codec: string;
  width: number;
  height: number;
  durationS: number;
  /** The file's own creation time (ms epoch), when its metadata has one. */
  createdAt: number | null;
  frameRate: number | null;
}

export type ProbeOutcome = { ok: true; probe: VideoProbe } | { ok: false; status: 413 | 422; reason: string };

interface FfprobeJson {
  format?: { format_name?: string; duration?: string; tags?: Record<string, string> };
  streams?: { codec_type?: string; codec_name?: string; width?: number; height?: number; duration?: string; avg_frame_rate?: string; nb_frames?: string; tags?: Record<string, string> }[];
}

/**
 * ffprobe beside a system ffmpeg (Debian's), else the static build of @ffprobe-installer (shipped in
 * its npm package, so a machine with no apt step can validate uploads), else `ffprobe` on PATH.
 */
export function ffprobePath(ffmpeg: FfmpegBinary): string {
  if (ffmpeg.origin === 'system') {
    const beside = join(dirname(ffmpeg.path), 'ffprobe');
    if (existsSync(beside)) return beside;
  }
  return bundledFfprobe() ?? 'ffprobe';
}

let bundled: string | null | undefined;
function bundledFfprobe(): string | null {
  if (bundled === undefined) {
    try {
      bundled = (createRequire(import.meta.url)('@ffprobe-installer/ffprobe') as { path: string }).path;
    } catch {
      // No build for this platform: PATH is the last resort.
      bundled = null;
    }
  }
  return bundled;
}

/** ffprobe itself could not run (missing, not executable): the server's fault, not the file's. */
export class FfprobeMissingError extends Error {
  override name = 'FfprobeMissingError';
}

/**
 * Validates an uploaded file with ffprobe: a known container with a video stream of an accepted codec,
 * a positive duration within the limit, and a tail that decodes (a truncated file fails there). The
 * reasons are for the uploader: they say what is wrong with the file.
 */
export async function probeVideo(path: string, ffmpeg: FfmpegBinary, limits: VideoLimits): Promise<ProbeOutcome> {
  const bytes = (await stat(path)).size;
  if (bytes === 0) return { ok: false, status: 422, reason: 'the file is empty' };
  if (bytes > limits.maxBytes) return { ok: false, status: 413, reason: `the file is ${mb(bytes)} MB, more than the ${mb(limits.maxBytes)} MB allowed` };
  let info: FfprobeJson;
  try {
    const { stdout } = await run(ffprobePath(ffmpeg), ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', path], { timeout: 30_000, maxBuffer: 4 * 1024 * 1024 });
    info = JSON.parse(stdout) as FfprobeJson;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'EACCES') throw new FfprobeMissingError(`ffprobe could not run (${String(code)}): install ffmpeg (which brings ffprobe) or reinstall @ffprobe-installer/ffprobe`);
    const msg = (e as { stderr?: string }).stderr?.trim().split('\n').pop() ?? (e instanceof Error ? e.message : String(e));
    return { ok: false, status: 422, reason: `not a video file ffprobe can read: ${msg.replace(path, 'the file').slice(0, 200)}` };
  }
  const video = info.streams?.find((s) => s.codec_type === 'video' && (s.width ?? 0) > 0);
  if (!video) return { ok: false, status: 422, reason: 'the file has no video stream' };
  const container = info.format?.format_name ?? '';
  if (!container.split(',').some((c) => limits.containers.includes(c))) {
    return { ok: false, status: 422, reason: `container "${container}" is not accepted (use ${limits.containers.join(', ')})` };
  }
  const codec = video.codec_name ?? '';
  if (!limits.codecs.includes(codec)) return { ok: false, status: 422, reason: `video codec "${codec}" is not accepted (use ${limits.codecs.join(', ')})` };
  const durationS = Number(info.format?.duration ?? video.duration ?? NaN);
  if (!Number.isFinite(durationS) || durationS <= 0) return { ok: false, status: 422, reason: 'the video has no duration (truncated or a single image?)' };
  if (durationS > limits.maxSeconds) return { ok: false, status: 422, reason: `the video lasts ${Math.round(durationS)} s, more than the ${limits.maxSeconds} s allowed` };
  // A truncated file often probes but does not decode to its end: decode its last second.
  try {
    await run(ffmpeg.path, ['-v', 'error', '-xerror', '-ss', String(Math.max(0, durationS - 1)), '-i', path, '-map', '0:v:0', '-frames:v', '1', '-f', 'null', '-'], { timeout: 30_000 });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'EACCES') throw new FfprobeMissingError(`ffprobe could not run (${String(code)}): install ffmpeg (which brings ffprobe) or reinstall @ffprobe-installer/ffprobe`);
    const msg = (e as { stderr?: string }).stderr?.trim().split('\n').pop() ?? 'decoding failed';
    return { ok: false, status: 422, reason: `the video does not decode to its end (truncated or damaged): ${msg.replace(path, 'the file').slice(0, 200)}` };
  }
  const tag = info.format?.tags?.creation_time ?? video.tags?.creation_time;
  const created = tag ? Date.parse(tag) : NaN;
  const [num, den] = (video.avg_frame_rate ?? '').split('/').map(Number);
  return {
    ok: true,
    probe: {
      container,
      codec,
      width: video.width ?? 0,
      height: video.height ?? 0,
      durationS,
      createdAt: Number.isFinite(created) && created > 0 ? created : null,
      frameRate: num && den ? num / den : null,
    },
  };
}

function mb(bytes: number): string {
  return (bytes / 1024 ** 2).toFixed(1);
}
