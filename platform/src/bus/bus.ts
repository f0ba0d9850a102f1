import type { Envelope, StreamKind } from '@chronotrace/contracts';

/** Result of a publish: a value, not an exception, for the expected outcomes. */
export type PublishResult =
  | { ok: true; seq: number; duplicate: boolean }
  | { ok: false; reason: 'too-large' | 'closed' | 'error'; detail: string };

export interface PublishOptions {
  /** Dedup key (Nats-Msg-Id). A second publish with the same id inside the dedup window is accepted but not delivered again. */
  msgId: string;
}

/** One delivered message. Ack after the result of processing it has been published. */
export interface BusMessage<K extends StreamKind> {
  readonly kind: K;
  readonly subject: string;
  /** Camera id, the last token of the subject. */
  readonly camera: string;
  readonly envelope: Envelope<K>;
  /** 1 on first delivery, >1 on redelivery. */
  readonly deliveryCount: number;
  /** Stream sequence, increasing per stream. */
  readonly seq: number;
  ack(): void;
  /** Ask for redelivery, after delayMs (default: at once). */
  nak(delayMs?: number): void;
  /** Give up on this message: never redelivered. */
  term(): void;
}

export interface ConsumeOptions {
  /** Durable consumer name. Every replica using the same name shares the work (consumer group). */
  durable: string;
  /** Only these cameras (subject filter `<kind>.<camera>`); all when omitted. */
  cameras?: string[];
  /** Max messages handed to one handler call. Default 16. */
  batch?: number;
  /** Unacked messages are redelivered after this long. Default 10 000 ms. */
  ackWaitMs?: number;
  /** Give up on a message after this many deliveries. Default 5. */
  maxDeliver?: number;
  /** Start with messages published after the consumer is created (default) or from the oldest kept. */
  deliverFrom?: 'new' | 'all';
  /**
   * Delete the durable after it has had no member for this long (JetStream inactive_threshold), for
   * per-replica consumers (a web replica's own view of all frames) that must not pile up after the
   * replica is gone. Default: kept until deleted. In-process durables end with the process anyway.
   */
  expireAfterIdleMs?: number;
}

/**
 * Called with whatever is pending (1..batch messages, oldest first). The handler must ack/nak/term
 * each message; one left unacked is redelivered after ackWaitMs. A throw naks all unacked ones.
 */
export type BatchHandler<K extends StreamKind> = (messages: BusMessage<K>[]) => Promise<void>;

export interface ConsumerStats {
  delivered: number;
  acked: number;
  naked: number;
  redelivered: number;
  handlerErrors: number;
}

export interface Consumer {
  readonly durable: string;
  stats(): ConsumerStats;
  /** Stop pulling; in-flight handler calls finish first. Idempotent. Unacked messages stay for other replicas. */
  close(): Promise<void>;
}

export interface BusStats {
  published: number;
  duplicates: number;
  rejectedTooLarge: number;
  publishErrors: number;
}

/** Port: the message bus between stages. Implementations: InProcessBus (embedded), JetStreamBus (distributed). */
export interface Bus {
  readonly kind: 'in-process' | 'jetstream';
  /** Largest encoded envelope accepted; bigger ones are rejected with reason 'too-large' and counted. */
  readonly maxPayloadBytes: number;
  publish<K extends StreamKind>(kind: K, camera: string, envelope: Envelope<K>, options: PublishOptions): Promise<PublishResult>;
  consume<K extends StreamKind>(kind: K, options: ConsumeOptions, handler: BatchHandler<K>): Promise<Consumer>;
  stats(): BusStats;
  /** Health check for /api/health. */
  ping(): Promise<boolean>;
  /** Closes consumers and connections. Idempotent. */
  close(): Promise<void>;
}
