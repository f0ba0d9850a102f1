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

/** A stretch of contiguous recording: where it lies in the clip's media time, and the wall time it starts at. */
export interface CaptionBlock {
  /** Media seconds from the first segment's start. */
  from: number;
  to: number;
  /** Wall time (ms epoch) at `from`. */
  wallAt: number;
}

/** Segments closer than this are one stretch (their times are the recorder's, frame-exact within a run). */
const GAP_MS = 250;

/**
 * The contiguous stretches of `segments` (time order): gaps collapse in the clip, so each stretch's
 * burned-in time has its own base, or the time after a gap would be shown too early.
 */
export function captionBlocks(segments: readonly RecordingSegment[]): CaptionBlock[] {
  const blocks: CaptionBlock[] = [];
  let pos = 0;
  let prevEnd: number | null = null;
  for (const s of segments) {
    const d = (s.endAt - s.startAt) / 1000;
    const last = blocks[blocks.length - 1];
    if (last && prevEnd !== null && s.startAt - prevEnd <= GAP_MS) last.to = pos + d;
    else blocks.push({ from: pos, to: pos + d, wallAt: s.startAt });
    pos += d;
    prevEnd = s.endAt;
  }
  return blocks;
}

/**
 * drawtext filters burning in the camera name and each frame's wall time (in the process's TZ), one
 * per stretch of recording, each on while the clip is in that stretch.
 */
export function captionFilter(font: string, cameraName: string, blocks: readonly CaptionBlock[]): string {
  const name = drawtextEscape(cameraName);
  return blocks
    .map((b, i) => {
      // The last stretch stays on to the end (a frame stamped just after its computed end keeps its caption).
      const enable = blocks.length === 1 ? '' : `:enable='${i === blocks.length - 1 ? `gte(t,${b.from.toFixed(3)})` : `between(t,${b.from.toFixed(3)},${(blocks[i + 1]!.from - 0.001).toFixed(3)})`}'`;
      const base = (b.wallAt / 1000 - b.from).toFixed(3);
      return `drawtext=fontfile=${font}:text='${name}  %{pts\\:localtime\\:${base}}':x=12:y=h-th-12:fontsize=h/28:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=6${enable}`;
    })
    .join(',');
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
  const font = CAPTION_FONTS.find((f) => existsSync(f));
  const caption = font ? `,${captionFilter(font, o.cameraName, captionBlocks(o.segments))}` : '';
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
