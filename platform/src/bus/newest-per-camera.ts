import type { StreamKind } from '@chronotrace/contracts';
import type { BusMessage } from './bus';

export interface NewestPerCamera<K extends StreamKind> {
  /** The newest message of each camera in the batch, in batch order. */
  keep: BusMessage<K>[];
  /** Older messages of a camera that also has a newer one: the caller acks them and counts them as skipped. */
  skipped: BusMessage<K>[];
}

/** capturedAt when the metadata carries one (frames), else undefined. */
function capturedAt(m: BusMessage<StreamKind>): number | undefined {
  const meta: object = m.envelope.meta;
  return 'capturedAt' in meta && typeof meta.capturedAt === 'number' ? meta.capturedAt : undefined;
}

/** Is a newer than b? Latest capture time first (the frame's own clock), then highest stream sequence. */
function isNewer(a: BusMessage<StreamKind>, b: BusMessage<StreamKind>): boolean {
  const ca = capturedAt(a);
  const cb = capturedAt(b);
  if (ca !== undefined && cb !== undefined && ca !== cb) return ca > cb;
  return a.seq > b.seq;
}

/**
 * Newest-frame-wins for live stages: of a batch, keep only the newest message per camera so a stage that
 * falls behind catches up instead of working through a backlog. Pure; acks nothing.
 */
export function newestPerCamera<K extends StreamKind>(messages: readonly BusMessage<K>[]): NewestPerCamera<K> {
  const newest = new Map<string, BusMessage<K>>();
  for (const m of messages) {
    const cur = newest.get(m.camera);
    if (!cur || isNewer(m, cur)) newest.set(m.camera, m);
  }
  const winners = new Set(newest.values());
  const keep: BusMessage<K>[] = [];
  const skipped: BusMessage<K>[] = [];
  for (const m of messages) (winners.has(m) ? keep : skipped).push(m);
  return { keep, skipped };
}
