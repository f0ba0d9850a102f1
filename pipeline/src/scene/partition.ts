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
