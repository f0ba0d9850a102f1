/*
 * Just enough ISO BMFF (MP4) reading to index fMP4 segments: the track timescale of an init segment,
 * and the decode time, duration, frame and keyframe counts of a media segment (moof/traf boxes).
 */

export class Fmp4Error extends Error {
  override name = 'Fmp4Error';
}

interface Box {
  type: string;
  start: number;
  /** First byte of the payload. */
  body: number;
  end: number;
}

function* boxes(buf: Uint8Array, from: number, to: number): Generator<Box> {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = from;
  while (at + 8 <= to) {
    let size = view.getUint32(at);
    const type = String.fromCharCode(buf[at + 4]!, buf[at + 5]!, buf[at + 6]!, buf[at + 7]!);
    let body = at + 8;
    if (size === 1) {
      if (at + 16 > to) throw new Fmp4Error(`box ${type} at ${at}: truncated 64-bit size`);
      size = Number(view.getBigUint64(at + 8));
      body = at + 16;
    } else if (size === 0) size = to - at;
    if (size < body - at || at + size > to) throw new Fmp4Error(`box ${type} at ${at}: size ${size} runs past the end (${to})`);
    yield { type, start: at, body, end: at + size };
    at += size;
  }
  if (at !== to) throw new Fmp4Error(`${to - at} stray bytes at ${at}`);
}

function child(buf: Uint8Array, parent: Box, type: string): Box | undefined {
  for (const b of boxes(buf, parent.body, parent.end)) if (b.type === type) return b;
  return undefined;
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

export interface Fmp4Init {
  /** Ticks per second of the video track. */
  timescale: number;
  /** trex default sample duration (ticks), 0 when absent. */
  defaultDuration: number;
  width: number;
  height: number;
}

/** Reads an init segment (ftyp + moov). Throws Fmp4Error when it is not one. */
export function readInit(buf: Uint8Array): Fmp4Init {
  const top = [...boxes(buf, 0, buf.byteLength)];
  const moov = top.find((b) => b.type === 'moov');
  if (!moov) throw new Fmp4Error('no moov box: not an init segment');
  const trak = child(buf, moov, 'trak');
  const mdia = trak && child(buf, trak, 'mdia');
  const mdhd = mdia && child(buf, mdia, 'mdhd');
  if (!trak || !mdhd) throw new Fmp4Error('no trak/mdia/mdhd box');
  const v = view(buf);
  const version = buf[mdhd.body]!;
  const timescale = v.getUint32(mdhd.body + (version === 1 ? 20 : 12));
  if (timescale === 0) throw new Fmp4Error('timescale is 0');
  const tkhd = child(buf, trak, 'tkhd');
  let width = 0;
  let height = 0;
  if (tkhd) {
    width = v.getUint32(tkhd.end - 8) >>> 16;
    height = v.getUint32(tkhd.end - 4) >>> 16;
  }
  let defaultDuration = 0;
  const mvex = child(buf, moov, 'mvex');
  const trex = mvex && child(buf, mvex, 'trex');
  if (trex) defaultDuration = v.getUint32(trex.body + 12);
  return { timescale, defaultDuration, width, height };
}

export interface Fmp4Segment {
  /** Decode time of the first sample, in the track's ticks. */
  baseTime: number;
  /** Sum of sample durations, ticks. */
  duration: number;
  frames: number;
  keyframes: number;
}

/** Reads a media segment (one or more moof + mdat). Throws Fmp4Error on a truncated or foreign file. */
export function readSegment(buf: Uint8Array, init: Fmp4Init): Fmp4Segment {
  const v = view(buf);
  let baseTime = -1;
  let duration = 0;
  let frames = 0;
  let keyframes = 0;
  let sawMdat = false;
  for (const top of boxes(buf, 0, buf.byteLength)) {
    if (top.type === 'mdat') sawMdat = true;
    if (top.type !== 'moof') continue;
    for (const traf of boxes(buf, top.body, top.end)) {
      if (traf.type !== 'traf') continue;
      let defaultDuration = init.defaultDuration;
      let defaultFlags = 0;
      for (const b of boxes(buf, traf.body, traf.end)) {
        const flags = v.getUint32(b.body) & 0xffffff;
        if (b.type === 'tfhd') {
          let at = b.body + 8;
          if (flags & 0x1) at += 8;
          if (flags & 0x2) at += 4;
          if (flags & 0x8) defaultDuration = v.getUint32((at += 4) - 4);
          if (flags & 0x10) at += 4;
          if (flags & 0x20) defaultFlags = v.getUint32(at);
        } else if (b.type === 'tfdt') {
          const t = buf[b.body] === 1 ? Number(v.getBigUint64(b.body + 4)) : v.getUint32(b.body + 4);
          if (baseTime < 0) baseTime = t;
        } else if (b.type === 'trun') {
          const count = v.getUint32(b.body + 4);
          let at = b.body + 8;
          if (flags & 0x1) at += 4;
          let firstFlags: number | null = null;
          if (flags & 0x4) {
            firstFlags = v.getUint32(at);
            at += 4;
          }
          for (let i = 0; i < count; i++) {
            let d = defaultDuration;
            let f = i === 0 && firstFlags !== null ? firstFlags : defaultFlags;
            if (flags & 0x100) d = v.getUint32((at += 4) - 4);
            if (flags & 0x200) at += 4;
            if (flags & 0x400) f = v.getUint32((at += 4) - 4);
            if (flags & 0x800) at += 4;
            if (at > b.end) throw new Fmp4Error('trun runs past its box');
            duration += d;
            frames++;
            // sample_is_non_sync_sample (bit 16) clear: a keyframe.
            if (((f >>> 16) & 1) === 0) keyframes++;
          }
        }
      }
    }
  }
  if (baseTime < 0 || frames === 0) throw new Fmp4Error('no moof with samples: not a media segment');
  if (!sawMdat) throw new Fmp4Error('no mdat: truncated segment');
  return { baseTime, duration, frames, keyframes };
}
