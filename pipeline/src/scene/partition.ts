import type { StreamKind } from '@chronotrace/contracts';
import type { BusMessage, Logger } from '@chronotrace/platform';

/** Which share of the cameras a stateful stage replica owns: camera hash mod `count` = `index`. */
export interface Partition {
  index: number;
  count: number;
}

export const SINGLE_PARTITION: Partition = { index: 0, count: 1 };

/** FNV-1a of the camera id: stable across processes and languages. */
export function partitionOf(camera: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < camera.length; i++) {
    h ^= camera.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % count;
}

export function ownsCamera(p: Partition, camera: string): boolean {
  return p.count === 1 || partitionOf(camera, p.count) === p.index;
}

/** Durable name of a partitioned stage: replicas of one partition must not share frames of a camera with another. */
export function partitionDurable(stage: string, p: Partition): string {
  return p.count === 1 ? stage : `${stage}-p${p.index}of${p.count}`;
}

/**
 * The batch handling of a partitioned, stateful stage: acks the frames of cameras another partition
 * owns, then runs `each` on the rest one at a time in capture order. A frame `each` throws on is
 * logged and acked (dropped): state has moved on, a redelivery would be stale.
 */
export async function inCaptureOrder<K extends FrameStreamKind>(
  messages: readonly BusMessage<K>[],
  partition: Partition,
  each: (m: BusMessage<K>) => Promise<void>,
  log: Logger,
  stage: string,
): Promise<void> {
  const mine: BusMessage<K>[] = [];
  for (const m of messages) {
    if (ownsCamera(partition, m.camera)) mine.push(m);
    else m.ack();
  }
  mine.sort((a, b) => a.envelope.meta.capturedAt - b.envelope.meta.capturedAt);
  for (const m of mine) {
    try {
      await each(m);
    } catch (err) {
      log.error({ err, camera: m.camera, frameId: m.envelope.meta.frameId }, `${stage} failed on a frame: dropped`);
      m.ack();
    }
  }
}

/** Stream kinds whose messages carry a capture time and a frame id. */
export type FrameStreamKind = Extract<StreamKind, 'frames.redacted' | 'scene'>;
