import type { StreamKind } from '@chronotrace/contracts';
import type { BusMessage } from './bus';

export interface NewestPerCamera<K extends StreamKind> {
  /** The newest message(s) of each camera in the batch, in batch order. */
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
 * Newest-frame-wins for live stages: of a batch, keep only the newest `perCamera` messages of each camera
 * (default 1) so a stage that falls behind catches up instead of working through a backlog. Kept
 * messages stay in batch order. Pure; acks nothing.
 */
export function newestPerCamera<K extends StreamKind>(messages: readonly BusMessage<K>[], perCamera = 1): NewestPerCamera<K> {
  const byCamera = new Map<string, BusMessage<K>[]>();
  for (const m of messages) {
    const list = byCamera.get(m.camera) ?? [];
    list.push(m);
    byCamera.set(m.camera, list);
  }
  const winners = new Set<BusMessage<K>>();
  for (const list of byCamera.values()) {
    // Newest first, then the first `perCamera` of them win.
    const sorted = [...list].sort((a, b) => (isNewer(a, b) ? -1 : isNewer(b, a) ? 1 : 0));
    for (const m of sorted.slice(0, Math.max(1, perCamera))) winners.add(m);
  }
  const keep: BusMessage<K>[] = [];
  const skipped: BusMessage<K>[] = [];
  for (const m of messages) (winners.has(m) ? keep : skipped).push(m);
  return { keep, skipped };
}
