import { beforeAll, describe, expect, it } from 'vitest';
import { JpegFrameSplitter } from '../src/jpeg-frame-splitter';
import { readJpegDimensions } from '../src/jpeg-dimensions';
import { ffmpegOutput } from './fixtures/media';

/** Splits a stream at the given cut points (sorted, exclusive ends) and feeds each piece. */
function feed(splitter: JpegFrameSplitter, stream: Buffer, cuts: number[]): Buffer[] {
  const frames: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    frames.push(...splitter.push(stream.subarray(from, cut)));
    from = cut;
  }
  return frames;
}

function expectSameFrames(actual: Buffer[], expected: Buffer[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((frame, i) => expect(frame.equals(expected[i]!)).toBe(true));
}

describe('JpegFrameSplitter', () => {
  /** Three real 64×48 JPEGs from ffmpeg, each a separate image. */
  let jpegs: Buffer[];
  let stream: Buffer;

  beforeAll(async () => {
    jpegs = await Promise.all(
      [0, 1, 2].map((i) =>
        ffmpegOutput(['-f', 'lavfi', '-i', `testsrc2=size=64x48:rate=5`, '-vf', `select=eq(n\\,${i * 3})`, '-frames:v', '1', '-c:v', 'mjpeg', '-q:v', '5', '-f', 'image2pipe', '-']),
      ),
    );
    stream = Buffer.concat(jpegs);
  });

  it('reads width and height from the SOF header of a real JPEG', () => {
    expect(readJpegDimensions(jpegs[0]!)).toEqual({ width: 64, height: 48 });
    expect(readJpegDimensions(Buffer.from('not a jpeg'))).toBeNull();
    expect(readJpegDimensions(jpegs[0]!.subarray(0, 20))).toBeNull();
  });

  it('gives back the three frames of one whole chunk', () => {
    const frames = new JpegFrameSplitter().push(stream);
    expectSameFrames(frames, jpegs);
  });

  it('gives back the same frames whichever byte the stream is split at', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      expectSameFrames(feed(new JpegFrameSplitter(), stream, [cut]), jpegs);
    }
  });

  it('gives back the same frames when cut in three around every frame boundary', () => {
    const boundary1 = jpegs[0]!.length;
    const boundary2 = boundary1 + jpegs[1]!.length;
    for (let a = boundary1 - 4; a <= boundary1 + 4; a++) {
      for (let b = boundary2 - 4; b <= boundary2 + 4; b++) {
        expectSameFrames(feed(new JpegFrameSplitter(), stream, [a, b]), jpegs);
      }
    }
  });

  it('gives back the same frames when fed one byte at a time', () => {
    const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    expectSameFrames(feed(new JpegFrameSplitter(), stream, cuts), jpegs);
  });

  it('skips garbage before, between and after frames and counts it', () => {
    const garbage = Buffer.from([0x00, 0xff, 0x12, 0xff, 0xff, 0xd9, 0x55]);
    const dirty = Buffer.concat([garbage, jpegs[0]!, garbage, jpegs[1]!, garbage, jpegs[2]!, garbage]);
    const splitter = new JpegFrameSplitter();
    for (let cut = 0; cut <= dirty.length; cut += 7) {
      expectSameFrames(feed(new JpegFrameSplitter(), dirty, [cut]), jpegs);
    }
    expectSameFrames(splitter.push(dirty), jpegs);
    expect(splitter.toJSON().discardedBytes).toBe(garbage.length * 4);
  });

  it('drops a truncated frame and resyncs on the next SOI', () => {
    const truncated = jpegs[0]!.subarray(0, Math.floor(jpegs[0]!.length / 2));
    const splitter = new JpegFrameSplitter();
    const frames = splitter.push(Buffer.concat([truncated, jpegs[1]!, jpegs[2]!]));
    // Cutting mid-scan leaves the next SOI inside "scan data": it is seen as a marker and the splitter restarts there.
    expectSameFrames(frames, [jpegs[1]!, jpegs[2]!]);
    expect(splitter.toJSON().corrupt).toBeGreaterThanOrEqual(1);
  });

  it('does not end a frame at an EOI inside an APP segment (an embedded thumbnail)', () => {
    const thumb = jpegs[2]!;
    const payload = Buffer.concat([Buffer.from('Exif\0\0'), thumb]);
    const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]), payload]);
    const withThumb = Buffer.concat([jpegs[0]!.subarray(0, 2), app1, jpegs[0]!.subarray(2)]);
    const frames = new JpegFrameSplitter().push(Buffer.concat([withThumb, jpegs[1]!]));
    expectSameFrames(frames, [withThumb, jpegs[1]!]);
    expect(readJpegDimensions(frames[0]!)).toEqual({ width: 64, height: 48 });
  });

  it('drops a frame larger than maxFrameBytes and keeps the next one', async () => {
    const big = await ffmpegOutput(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=5', '-frames:v', '1', '-c:v', 'mjpeg', '-q:v', '2', '-f', 'image2pipe', '-']);
    const cap = 4000;
    expect(big.length).toBeGreaterThan(cap);
    expect(jpegs[1]!.length).toBeLessThan(cap);
    for (const cuts of [[], [500], [big.length - 1], [cap - 1, cap, cap + 1]]) {
      const splitter = new JpegFrameSplitter({ maxFrameBytes: cap });
      expectSameFrames(feed(splitter, Buffer.concat([big, jpegs[1]!, big, jpegs[2]!]), cuts), [jpegs[1]!, jpegs[2]!]);
      expect(splitter.toJSON().oversized).toBe(2);
    }
  });

  it('holds no partial frame after reset()', () => {
    const splitter = new JpegFrameSplitter();
    splitter.push(jpegs[0]!.subarray(0, 100));
    splitter.reset();
    expect(splitter.toJSON().pendingBytes).toBe(0);
    expectSameFrames(splitter.push(jpegs[1]!), [jpegs[1]!]);
  });
});
