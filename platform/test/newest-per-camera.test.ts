import { describe, expect, it } from 'vitest';
import type { BusMessage } from '../src/bus/index';
import { newestPerCamera } from '../src/bus/index';

function msg(camera: string, seq: number, capturedAt?: number): BusMessage<'frames.raw'> {
  const meta = { camera, frameId: `${camera}:0:${seq}`, seq, capturedAt: capturedAt ?? seq * 100, width: 1, height: 1 };
  return {
    kind: 'frames.raw',
    subject: `frames.raw.${camera}`,
    camera,
    envelope: { meta },
    deliveryCount: 1,
    seq,
    ack: () => {},
    nak: () => {},
    term: () => {},
  };
}

const seqs = (ms: BusMessage<'frames.raw'>[]): number[] => ms.map((m) => m.seq);

describe('newestPerCamera', () => {
  it('keeps the newest frame of each camera and skips the older ones, in batch order', () => {
    const batch = [msg('a', 1), msg('b', 2), msg('a', 3), msg('a', 4), msg('b', 5), msg('c', 6)];
    const { keep, skipped } = newestPerCamera(batch);
    expect(seqs(keep)).toEqual([4, 5, 6]);
    expect(seqs(skipped)).toEqual([1, 2, 3]);
  });

  it('prefers the later capture time over the higher stream sequence (a late publisher)', () => {
    const { keep, skipped } = newestPerCamera([msg('a', 1, 5_000), msg('a', 2, 4_000)]);
    expect(seqs(keep)).toEqual([1]);
    expect(seqs(skipped)).toEqual([2]);
  });

  it('falls back to the stream sequence when capture times tie or are absent', () => {
    const tie = newestPerCamera([msg('a', 7, 1_000), msg('a', 3, 1_000)]);
    expect(seqs(tie.keep)).toEqual([7]);
    const health: BusMessage<'health'>[] = [1, 2].map((seq) => ({
      ...msg('a', seq),
      kind: 'health' as const,
      subject: 'health.a',
      envelope: {
        meta: { camera: 'a', state: 'live' as const, fps: 2, lastFrameAt: null, restarts: 0, lastError: null, skipped: 0, redactionFailures: 0, at: 1 },
      },
    }));
    expect(newestPerCamera(health).keep.map((m) => m.seq)).toEqual([2]);
  });

  it('keeps everything when each camera has one message, and handles an empty batch', () => {
    expect(seqs(newestPerCamera([msg('a', 1), msg('b', 2)]).keep)).toEqual([1, 2]);
    expect(newestPerCamera([])).toEqual({ keep: [], skipped: [] });
  });
});

describe('newestPerCamera with several kept per camera', () => {
  it('keeps the newest N of each camera, in batch order', () => {
    const mk = (camera: string, capturedAt: number, seq: number): BusMessage<'frames.raw'> =>
      ({ camera, seq, envelope: { meta: { camera, frameId: `${camera}:${seq}`, seq, capturedAt, width: 1, height: 1 } } }) as unknown as BusMessage<'frames.raw'>;
    const batch = [mk('a', 1, 1), mk('a', 2, 2), mk('b', 1, 3), mk('a', 3, 4), mk('a', 4, 5)];
    const { keep, skipped } = newestPerCamera(batch, 2);
    expect(keep.map((m) => m.seq)).toEqual([3, 4, 5]);
    expect(skipped.map((m) => m.seq)).toEqual([1, 2]);
  });
});
