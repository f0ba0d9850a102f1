import type { ConsumeOptions, ConsumerStats } from './bus';
import { assertCamera, assertDurable } from './errors';

/** Max messages handed to one handler call. */
export const DEFAULT_BATCH = 16;
/** Unacked messages are redelivered after this long. */
export const DEFAULT_ACK_WAIT_MS = 10_000;
/** Deliveries of one message before the bus gives up on it. */
export const DEFAULT_MAX_DELIVER = 5;
/** A second publish with the same msgId inside this window is a duplicate (capped at the stream's max age). */
export const DEFAULT_DEDUP_WINDOW_MS = 120_000;

export interface ResolvedConsumeOptions {
  durable: string;
  /** null: every camera. */
  cameras: string[] | null;
  batch: number;
  ackWaitMs: number;
  maxDeliver: number;
  deliverFrom: 'new' | 'all';
  expireAfterIdleMs: number | null;
}

/** Validates consume() options and fills in the defaults; throws a BusError on a programming error. */
export function parseConsumeOptions(o: ConsumeOptions): ResolvedConsumeOptions {
  assertDurable(o.durable);
  const cameras = o.cameras && o.cameras.length > 0 ? [...new Set(o.cameras)].sort() : null;
  cameras?.forEach(assertCamera);
  const positiveInt = (name: string, v: number | undefined, dflt: number): number => {
    const x = v ?? dflt;
    if (!Number.isInteger(x) || x < 1) throw new RangeError(`${name} must be a positive integer, got ${String(v)}`);
    return x;
  };
  return {
    durable: o.durable,
    cameras,
    batch: positiveInt('batch', o.batch, DEFAULT_BATCH),
    ackWaitMs: positiveInt('ackWaitMs', o.ackWaitMs, DEFAULT_ACK_WAIT_MS),
    maxDeliver: positiveInt('maxDeliver', o.maxDeliver, DEFAULT_MAX_DELIVER),
    deliverFrom: o.deliverFrom ?? 'new',
    expireAfterIdleMs: o.expireAfterIdleMs === undefined ? null : positiveInt('expireAfterIdleMs', o.expireAfterIdleMs, 1),
  };
}

export function emptyConsumerStats(): ConsumerStats {
  return { delivered: 0, acked: 0, naked: 0, redelivered: 0, handlerErrors: 0 };
}

/** Camera id = the last token of a subject. */
export function cameraOfSubject(subject: string): string {
  const i = subject.lastIndexOf('.');
  return i < 0 ? subject : subject.slice(i + 1);
}
