import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordingSegment } from '@chronotrace/contracts';
import type { FfmpegBinary } from '../ffmpeg-binary';
import { vodPlaylist } from '../recording/hls-playlist';

/** Fonts tried for the burned-in caption (Debian's fonts-dejavu-core first). */
export const CAPTION_FONTS = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf'];

export interface EvidenceClipOptions {
  ffmpeg: FfmpegBinary;
  /** The media root the segments' paths are under. */
  root: string;
  /** The stored segments overlapping the range, in time order. */
  segments: readonly RecordingSegment[];
  from: number;
  to: number;
  cameraName: string;
  /** IANA zone the burned-in time is written in. */
  timeZone: string;
  /** Where the MP4 goes. */
  out: string;
}

export interface EvidenceClip {
  bytes: number;
  sha256: string;
  durationS: number;
  /** Whether the caption (camera and time) is burned in: false when no font was found. */
  captioned: boolean;
}

/** Media position (s) of a wall time in the concatenation of `segments` (gaps collapse). */
export function positionIn(segments: readonly RecordingSegment[], t: number): number {
  let pos = 0;
  for (const s of segments) {
    if (t < s.startAt) return pos;
    if (t < s.endAt) return pos + (t - s.startAt) / 1000;
    pos += (s.endAt - s.startAt) / 1000;
  }
  return pos;
}

/** Escapes text for ffmpeg's drawtext `text=` inside a filter graph. */
function drawtextEscape(s: string): string {
  return s.replace(/[^\p{L}\p{N} ._()#-]/gu, '').replace(/:/g, '\\:');
}

/**
 * Cuts [from, to) out of a camera's redacted recording into one MP4 (H.264, faststart) with the camera
 * name and the wall time of each frame burned in, and hashes it (SHA-256). Only redacted segments go
 * in: the recording never holds raw video.
 */
export async function buildEvidenceClip(o: EvidenceClipOptions): Promise<EvidenceClip> {
  if (o.segments.length === 0) throw new Error('nothing is recorded in that range');
  const list = `${o.out}.m3u8`;
  await writeFile(list, vodPlaylist(o.segments, { segmentUrl: (s) => join(o.root, s.path), initUrl: (s) => join(o.root, s.initPath) }));
  const start = positionIn(o.segments, o.from);
  const duration = Math.max(0.5, positionIn(o.segments, o.to) - start);
  // The filter sees media time from the first segment's start (the cut comes after it): its wall time is the caption's base.
  const firstShown = o.segments[0]!.startAt;
  const font = CAPTION_FONTS.find((f) => existsSync(f));
  const caption = font
    ? `,drawtext=fontfile=${font}:text='${drawtextEscape(o.cameraName)}  %{pts\\:localtime\\:${(firstShown / 1000).toFixed(3)}}':x=12:y=h-th-12:fontsize=h/28:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=6`
    : '';
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostats', '-y',
    '-allowed_extensions', 'ALL', '-protocol_whitelist', 'file,crypto,data',
    // Seeking after the input (decode and drop up to the start): the HLS demuxer does not seek fMP4 segments reliably.
    '-i', list, '-ss', start.toFixed(3), '-t', duration.toFixed(3),
    '-map', '0:v:0', '-an', '-vf', `format=yuv420p${caption}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-movflags', '+faststart', o.out,
  ];
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(o.ffmpeg.path, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TZ: o.timeZone } });
      let err = '';
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-2000)));
      child.once('error', reject);
      child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg could not cut the clip (exit ${code}): ${err.trim().split('\n').pop() ?? ''}`))));
    });
  } finally {
    await rm(list, { force: true });
  }
  const bytes = (await stat(o.out)).size;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(o.out)) hash.update(chunk as Buffer);
  return { bytes, sha256: hash.digest('hex'), durationS: Math.round(duration * 1000) / 1000, captioned: font !== undefined };
}
