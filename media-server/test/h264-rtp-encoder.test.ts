import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@chronotrace/platform';
import { resolveFfmpeg } from '../src/ffmpeg-binary';
import { H264RtpEncoder } from '../src/video/h264-rtp-encoder';
import { movingSquareFrames } from './support/frames';

const log = createLogger('test');
log.level = 'silent';

const frames = movingSquareFrames;

interface Seen {
  packets: number;
  /** RTP packets with the marker bit: one per encoded frame. */
  frames: number;
  /** NAL types seen (FU-A and STAP-A unwrapped to their first NAL). */
  nals: Set<number>;
  /** RTP timestamps of the frames (marker packets), in order. */
  timestamps: number[];
}

function watch(enc: H264RtpEncoder): Seen {
  const seen: Seen = { packets: 0, frames: 0, nals: new Set(), timestamps: [] };
  enc.onPacket((p) => {
    seen.packets++;
    if (p[1]! & 0x80) {
      seen.frames++;
      seen.timestamps.push(p.readUInt32BE(4));
    }
    const cc = p[0]! & 0x0f;
    const payload = p.subarray(12 + cc * 4);
    const type = payload[0]! & 0x1f;
    if (type === 28) seen.nals.add(payload[1]! & 0x1f);
    else if (type === 24) seen.nals.add(payload[3]! & 0x1f);
    else seen.nals.add(type);
  });
  return seen;
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let encoder: H264RtpEncoder | undefined;
afterEach(async () => {
  await encoder?.close();
  encoder = undefined;
});

describe('H264RtpEncoder', () => {
  it('turns every JPEG into one H.264 frame over RTP, with SPS/PPS and a keyframe first', async () => {
    const enc = new H264RtpEncoder({ camera: 'c1', ffmpeg: await resolveFfmpeg(), fps: 10, log });
    encoder = enc;
    const seen = watch(enc);
    const input = await frames(20, 320, 240);
    // One frame at a time, each once the previous one came out: nothing is dropped for being early.
    const captured = (i: number): number => 1_700_000_000_000 + i * 100;
    enc.push(input[0]!, captured(0));
    await until('the first frame', () => seen.frames === 1);
    for (let i = 1; i < input.length; i++) {
      enc.push(input[i]!, captured(i));
      await until(`frame ${i + 1}`, () => seen.frames === i + 1);
    }
    expect(seen.nals.has(7), 'SPS').toBe(true);
    expect(seen.nals.has(5), 'IDR slice').toBe(true);
    expect(seen.nals.has(1), 'P slice').toBe(true);
    // Each frame's RTP timestamp leads back to when it was captured (what a player uses to tell its delay).
    expect(seen.timestamps.map((ts) => enc.captureTimeOf(ts))).toEqual(input.map((_, i) => captured(i)));
    const s = enc.stats();
    expect(s).toMatchObject({ framesIn: 20, framesOut: 20, framesDropped: 0, width: 320, height: 240, restarts: 0 });
  });

  it('drops what is not a JPEG, restarts on a size change and after ffmpeg dies, and keeps encoding', async () => {
    const enc = new H264RtpEncoder({ camera: 'c2', ffmpeg: await resolveFfmpeg(), fps: 10, log });
    encoder = enc;
    const seen = watch(enc);
    const small = await frames(3, 160, 120);
    const odd = await frames(3, 161, 121);
    enc.push(Buffer.from('not a jpeg'));
    expect(enc.stats().framesDropped).toBe(1);
    enc.push(small[0]!);
    await until('a frame at 160×120', () => seen.frames >= 1);
    // A new size (odd, padded to even) restarts ffmpeg; the frame that arrives meanwhile waits for it.
    let out = seen.frames;
    enc.push(odd[0]!);
    await until('a frame at 161×121', () => seen.frames > out);
    expect(enc.stats()).toMatchObject({ width: 161, height: 121, restarts: 1 });
    // ffmpeg killed under it: restarted with backoff, and it encodes again.
    const pid = (enc as unknown as { child: { pid: number } | null }).child?.pid;
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await until('ffmpeg started again', () => enc.stats().restarts >= 2);
    out = seen.frames;
    enc.push(odd[1]!);
    await until('a frame from the new ffmpeg', () => seen.frames > out);
    expect(enc.stats().restarts).toBeGreaterThanOrEqual(2);
    expect(enc.stats().cpuSeconds).toBeGreaterThan(0);
  });
});
