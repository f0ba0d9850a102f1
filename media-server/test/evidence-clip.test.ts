import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { RecordingSegment } from '@chronotrace/contracts';
import { CAPTION_FONTS, captionBlocks, captionFilter, positionIn, resolveFfmpeg } from '../src/index';

const run = promisify(execFile);
const T0 = 1_796_000_000_000;

function seg(run: string, seq: number, startAt: number, endAt: number): RecordingSegment {
  return { id: `${run}-${seq}`, camera: 'gate', run, seq, path: `recordings/gate/${run}/seg-${String(seq).padStart(6, '0')}.m4s`, initPath: `recordings/gate/${run}/init.mp4`, startAt, endAt, bytes: 1, frames: 20, keyframes: 1, width: 320, height: 240 };
}

describe('the evidence clip caption', () => {
  // Two runs with a 10 minute gap (the camera was down): 0–4 s, then 4–6 s of the clip.
  const segments = [seg('a', 0, T0, T0 + 2_000), seg('a', 1, T0 + 2_000, T0 + 4_000), seg('b', 0, T0 + 604_000, T0 + 606_000)];

  it('gives each contiguous stretch its own wall-time base, so the time after a gap is not shown early', () => {
    const blocks = captionBlocks(segments);
    expect(blocks).toEqual([
      { from: 0, to: 4, wallAt: T0 },
      { from: 4, to: 6, wallAt: T0 + 604_000 },
    ]);
    // At any media position, base + position is the wall time of the frame shown there.
    for (const wall of [T0 + 1_000, T0 + 3_500, T0 + 605_000]) {
      const pos = positionIn(segments, wall);
      const b = blocks.find((x) => pos >= x.from && pos < x.to)!;
      expect((b.wallAt / 1000 - b.from + pos) * 1000).toBeCloseTo(wall, 3);
    }
    expect(captionBlocks(segments.slice(0, 2))).toEqual([{ from: 0, to: 4, wallAt: T0 }]);
  });

  it.skipIf(!CAPTION_FONTS.some((f) => existsSync(f)))('is a filter ffmpeg accepts and draws with, one drawtext per stretch', async () => {
    const font = CAPTION_FONTS.find((f) => existsSync(f))!;
    const filter = captionFilter(font, 'Gate: north (2)', captionBlocks(segments));
    expect(filter.match(/drawtext=/g)).toHaveLength(2);
    expect(filter).toContain(`localtime\\:${(T0 / 1000).toFixed(3)}`);
    expect(filter).toContain(`localtime\\:${(T0 / 1000 + 600).toFixed(3)}`);
    const ffmpeg = await resolveFfmpeg();
    const { stderr } = await run(ffmpeg.path, ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=5:duration=6', '-vf', filter, '-f', 'null', '-']);
    expect(stderr).toBe('');
  });
});
