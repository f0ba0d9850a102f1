import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  STREAMS,
  decodeEnvelope,
  encodeEnvelope,
  subjectFor,
  type Envelope,
  type StreamKind,
} from '@chronotrace/contracts';
import type {
  BatchHandler,
  Bus,
  BusMessage,
  BusStats,
  ConsumeOptions,
  Consumer,
  ConsumerStats,
  PublishOptions,
  PublishResult,
} from './bus';
import { assertCamera, BusClosedError } from './errors';
import { createLogger, type Logger } from '../logger';
import { DEFAULT_DEDUP_WINDOW_MS, emptyConsumerStats, parseConsumeOptions, type ResolvedConsumeOptions } from './options';

export interface InProcessBusOptions {
  /** Largest encoded envelope accepted. Default DEFAULT_MAX_PAYLOAD_BYTES (1 MiB, as NATS). */
  maxPayloadBytes?: number;
  /** Dedup window for msgId, capped at each stream's max age (as JetStream requires). Default 120 000 ms. */
  dedupWindowMs?: number;
  /** Per-stream bound on kept messages; the oldest are discarded first. Default 10 000. */
  maxMessagesPerStream?: number;
  /** Per-stream bound on kept bytes; the oldest are discarded first. Default 256 MiB. */
  maxBytesPerStream?: number;
}

export const DEFAULT_IN_PROCESS_MAX_MESSAGES = 10_000;
export const DEFAULT_IN_PROCESS_MAX_BYTES = 256 * 1024 * 1024;

interface StoredMessage {
  seq: number;
  camera: string;
  subject: string;
  /** The encoded envelope, exactly as it would travel on the wire. */
  data: Uint8Array;
  at: number;
}

/** One kind's stream: messages by sequence (Map keeps insertion = sequence order), dedup ids, durable consumers. */
class StreamState {
  readonly messages = new Map<number, StoredMessage>();
  lastSeq = 0;
  bytes = 0;
  /** msgId → {seq, at}; insertion order is time order, so pruning walks from the front. */
  readonly dedup = new Map<string, { seq: number; at: number }>();
  readonly groups = new Map<string, DurableGroup<StreamKind>>();

  constructor(
    readonly kind: StreamKind,
    readonly maxAgeMs: number,
    readonly dedupWindowMs: number,
    readonly maxMessages: number,
    readonly maxBytes: number,
    /** 'interest': a message goes once every durable wanting its camera has acked it (JetStream's InterestPolicy). */
    readonly retention: 'limits' | 'interest' = 'limits',
  ) {}

  /** Interest retention: whether some durable wants messages of this camera. */
  wanted(camera: string): boolean {
    for (const g of this.groups.values()) if (g.wants(camera)) return true;
    return false;
  }

  /** Interest retention: removes the message once no durable that wants it still has it pending. */
  collect(seq: number): void {
    if (this.retention !== 'interest') return;
    const m = this.messages.get(seq);
    if (!m) return;
    for (const g of this.groups.values()) if (g.wants(m.camera) && g.pending(seq)) return;
    this.messages.delete(seq);
    this.bytes -= m.data.length;
  }

  /** Drops what is past max age or over the size bounds, and dedup ids past their window. */
  trim(now: number): void {
    for (const m of this.messages.values()) {
      if (m.at >= now - this.maxAgeMs && this.messages.size <= this.maxMessages && this.bytes <= this.maxBytes) break;
      this.messages.delete(m.seq);
      this.bytes -= m.data.length;
    }
    for (const [id, d] of this.dedup) {
      if (d.at >= now - this.dedupWindowMs) break;
      this.dedup.delete(id);
    }
  }

  firstSeq(): number {
    for (const seq of this.messages.keys()) return seq;
    return this.lastSeq + 1;
  }
}

interface InFlight {
  seq: number;
  deliveryCount: number;
  token: number;
  /** The consume() call holding it (identity only). */
  member: object;
  timer: NodeJS.Timeout;
}

interface Waiting {
  deliveryCount: number;
  availableAt: number;
  /** Token of the last delivery, so a late ack of it still counts (as in JetStream). */
  token: number;
}

/**
 * A durable consumer: the shared cursor and ack state of every consume() call using the same name.
 * Messages go to one idle member at a time, round robin.
 */
class DurableGroup<K extends StreamKind> {
  /** Next stream sequence not yet looked at. */
  private cursor: number;
  private readonly inFlight = new Map<number, InFlight>();
  private readonly waiting = new Map<number, Waiting>();
  private readonly members: InProcessConsumer<K>[] = [];
  private rr = 0;
  private tokens = 0;
  private dispatchScheduled = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly wakeAts = new Set<number>();

  constructor(
    readonly stream: StreamState,
    readonly durable: string,
    public config: ResolvedConsumeOptions,
    private readonly log: Logger,
  ) {
    this.cursor = config.deliverFrom === 'all' ? 1 : stream.lastSeq + 1;
  }

  /** Whether this durable's filter takes the camera's messages. */
  wants(camera: string): boolean {
    return !this.config.cameras || this.config.cameras.includes(camera);
  }

  /** Whether the message is still to be delivered or settled by this durable. */
  pending(seq: number): boolean {
    return seq >= this.cursor || this.inFlight.has(seq) || this.waiting.has(seq);
  }

  join(member: InProcessConsumer<K>): void {
    this.members.push(member);
    this.scheduleDispatch();
  }

  /** Removes a closed member and hands its unsettled messages to the others at once (a replica died). */
  leave(member: InProcessConsumer<K>): void {
    const i = this.members.indexOf(member);
    if (i >= 0) this.members.splice(i, 1);
    for (const f of [...this.inFlight.values()]) {
      if (f.member === member) this.release(f, 0, 'member closed');
    }
    this.scheduleDispatch();
  }

  scheduleDispatch(delayMs = 0): void {
    if (delayMs > 0) {
      // One timer per distinct wake-up time: dispatch runs on every publish and would otherwise pile them up.
      const at = Date.now() + delayMs;
      if (this.wakeAts.has(at)) return;
      this.wakeAts.add(at);
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.wakeAts.delete(at);
        this.scheduleDispatch();
      }, delayMs);
      t.unref();
      this.timers.add(t);
      return;
    }
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    const now = Date.now();
    this.stream.trim(now);
    const n = this.members.length;
    for (let tried = 0; tried < n; tried++) {
      const member = this.members[(this.rr + tried) % n];
      if (!member || !member.idle()) continue;
      const batch = this.take(member.batch, now);
      if (batch.length === 0) break;
      this.rr = (this.rr + tried + 1) % n;
      tried = -1; // start again from the next member in turn
      member.run(batch.map((m) => this.deliver(m.stored, m.deliveryCount, member)));
    }
  }

  /** Up to `max` deliverable messages, oldest first: waiting redeliveries merged with new ones after the cursor. */
  private take(max: number, now: number): { stored: StoredMessage; deliveryCount: number }[] {
    const ready: { seq: number; w: Waiting }[] = [];
    let nextWake = Infinity;
    for (const [seq, w] of this.waiting) {
      if (!this.stream.messages.has(seq)) this.waiting.delete(seq); // aged out of the stream
      else if (w.availableAt <= now) ready.push({ seq, w });
      else nextWake = Math.min(nextWake, w.availableAt);
    }
    ready.sort((a, b) => a.seq - b.seq);
    if (nextWake !== Infinity) this.scheduleDispatch(nextWake - now);

    const out: { stored: StoredMessage; deliveryCount: number }[] = [];
    const cams = this.config.cameras;
    let s = Math.max(this.cursor, this.stream.firstSeq());
    let i = 0;
    while (out.length < max) {
      let fresh: StoredMessage | undefined;
      while (s <= this.stream.lastSeq) {
        const m = this.stream.messages.get(s);
        if (m && (!cams || cams.includes(m.camera))) {
          fresh = m;
          break;
        }
        s++;
      }
      const re = ready[i];
      if (re && (!fresh || re.seq < fresh.seq)) {
        const stored = this.stream.messages.get(re.seq);
        this.waiting.delete(re.seq);
        i++;
        if (stored) out.push({ stored, deliveryCount: re.w.deliveryCount + 1 });
      } else if (fresh) {
        out.push({ stored: fresh, deliveryCount: 1 });
        s++;
      } else break;
    }
    this.cursor = s;
    return out;
  }

  private deliver(stored: StoredMessage, deliveryCount: number, member: InProcessConsumer<K>): InProcessMessage<K> {
    const token = ++this.tokens;
    const timer = setTimeout(() => {
      const f = this.inFlight.get(stored.seq);
      if (f && f.token === token) this.release(f, 0, 'ack wait expired');
    }, this.config.ackWaitMs);
    timer.unref();
    this.inFlight.set(stored.seq, { seq: stored.seq, deliveryCount, token, member, timer });
    // A fresh copy per delivery, as off the wire: a handler mutating its body cannot touch the stream.
    const envelope = decodeEnvelope<K>(stored.data.slice());
    return new InProcessMessage<K>(this, member, stored, envelope, deliveryCount, token);
  }

  /** Puts an in-flight message back for redelivery after delayMs, unless it has used up maxDeliver. */
  private release(f: InFlight, delayMs: number, why: string): void {
    clearTimeout(f.timer);
    this.inFlight.delete(f.seq);
    if (f.deliveryCount >= this.config.maxDeliver) {
      this.log.warn({ seq: f.seq, deliveries: f.deliveryCount, why }, 'message reached maxDeliver; dropped');
      this.stream.collect(f.seq);
      return;
    }
    this.waiting.set(f.seq, { deliveryCount: f.deliveryCount, availableAt: Date.now() + delayMs, token: f.token });
    this.scheduleDispatch(delayMs);
  }

  /** ack/nak/term of one delivery; returns whether it applied (a stale delivery's nak/term does not). */
  settle(seq: number, token: number, op: 'ack' | 'nak' | 'term', delayMs = 0): boolean {
    const f = this.inFlight.get(seq);
    if (f && f.token === token) {
      if (op === 'nak') this.release(f, Math.max(0, delayMs), 'nak');
      else {
        clearTimeout(f.timer);
        this.inFlight.delete(seq);
        this.stream.collect(seq);
      }
      return true;
    }
    const w = this.waiting.get(seq);
    if (op === 'ack' && w && w.token === token) {
      // Acked after its ack wait ran out but before it went out again: JetStream accepts this too.
      this.waiting.delete(seq);
      this.stream.collect(seq);
      return true;
    }
    return false;
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.wakeAts.clear();
    for (const f of this.inFlight.values()) clearTimeout(f.timer);
    this.inFlight.clear();
    this.waiting.clear();
  }
}

class InProcessMessage<K extends StreamKind> implements BusMessage<K> {
  readonly kind: K;
  readonly subject: string;
  readonly camera: string;
  readonly seq: number;
  settled = false;

  constructor(
    private readonly group: DurableGroup<K>,
    private readonly member: InProcessConsumer<K>,
    stored: StoredMessage,
    readonly envelope: Envelope<K>,
    readonly deliveryCount: number,
    private readonly token: number,
  ) {
    this.kind = group.stream.kind as K;
    this.subject = stored.subject;
    this.camera = stored.camera;
    this.seq = stored.seq;
  }

  ack(): void {
    this.settle('ack');
  }

  nak(delayMs?: number): void {
    this.settle('nak', delayMs);
  }

  term(): void {
    this.settle('term');
  }

  private settle(op: 'ack' | 'nak' | 'term', delayMs?: number): void {
    if (this.settled) return;
    this.settled = true;
    if (this.group.settle(this.seq, this.token, op, delayMs) && op !== 'term') {
      this.member.counters[op === 'ack' ? 'acked' : 'naked']++;
    }
    this.group.scheduleDispatch();
  }
}

/** One consume() call: a member of its durable group. */
class InProcessConsumer<K extends StreamKind> implements Consumer {
  readonly counters: ConsumerStats = emptyConsumerStats();
  private running: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private held: InProcessMessage<K>[] = [];

  constructor(
    private readonly group: DurableGroup<K>,
    private readonly handler: BatchHandler<K>,
    readonly batch: number,
    private readonly log: Logger,
    private readonly onClosed: (c: InProcessConsumer<K>) => void,
  ) {}

  get durable(): string {
    return this.group.durable;
  }

  idle(): boolean {
    return this.running === null && this.closing === null;
  }

  run(messages: InProcessMessage<K>[]): void {
    this.counters.delivered += messages.length;
    this.counters.redelivered += messages.filter((m) => m.deliveryCount > 1).length;
    this.held = [...this.held.filter((m) => !m.settled), ...messages];
    this.running = this.invoke(messages).finally(() => {
      this.running = null;
      this.held = this.held.filter((m) => !m.settled);
      this.group.scheduleDispatch();
    });
  }

  private async invoke(messages: InProcessMessage<K>[]): Promise<void> {
    try {
      await this.handler(messages);
    } catch (err) {
      this.counters.handlerErrors++;
      this.log.error({ err, seqs: messages.map((m) => m.seq) }, 'bus handler threw; unacked messages nak\'ed');
      for (const m of messages) if (!m.settled) m.nak();
    }
  }

  stats(): ConsumerStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.running;
      // Whatever this replica still holds goes to the others now rather than after ackWait.
      for (const m of this.held) m.settled = true;
      this.held = [];
      this.group.leave(this);
      this.onClosed(this);
    })();
    return this.closing;
  }
}

/**
 * The embedded Bus: one in-memory stream per kind with JetStream's semantics — retention by max age and
 * size, msgId dedup, durable consumer groups, explicit ack with redelivery after ackWait, nak (with delay),
 * term and maxDeliver. Envelopes are encoded on publish and decoded per delivery, as on the wire.
 * One difference: a consumer closed while holding unacked messages hands them to the other members at once
 * (JetStream waits for ackWait, as it cannot tell a dead replica from a slow one).
 */
export class InProcessBus implements Bus {
  readonly kind = 'in-process' as const;
  readonly maxPayloadBytes: number;
  private readonly streams = new Map<StreamKind, StreamState>();
  private readonly consumers = new Set<Consumer>();
  private readonly counters: BusStats = { published: 0, duplicates: 0, rejectedTooLarge: 0, publishErrors: 0 };
  private readonly log = createLogger('bus', { bus: 'in-process' });
  private closed = false;

  constructor(options: InProcessBusOptions = {}) {
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    const dedup = options.dedupWindowMs ?? DEFAULT_DEDUP_WINDOW_MS;
    for (const kind of Object.keys(STREAMS) as StreamKind[]) {
      const maxAge = STREAMS[kind].maxAgeMs;
      this.streams.set(
        kind,
        new StreamState(
          kind,
          maxAge,
          Math.min(dedup, maxAge),
          options.maxMessagesPerStream ?? DEFAULT_IN_PROCESS_MAX_MESSAGES,
          options.maxBytesPerStream ?? DEFAULT_IN_PROCESS_MAX_BYTES,
          STREAMS[kind].retention,
        ),
      );
    }
  }

  private stream(kind: StreamKind): StreamState {
    const s = this.streams.get(kind);
    if (!s) throw new RangeError(`unknown stream kind ${String(kind)}`);
    return s;
  }

  async publish<K extends StreamKind>(kind: K, camera: string, envelope: Envelope<K>, options: PublishOptions): Promise<PublishResult> {
    assertCamera(camera);
    if (this.closed) return { ok: false, reason: 'closed', detail: 'bus is closed' };
    const stream = this.stream(kind);
    let data: Uint8Array;
    try {
      data = encodeEnvelope(envelope);
    } catch (err) {
      this.counters.publishErrors++;
      return { ok: false, reason: 'error', detail: `cannot encode envelope: ${String(err)}` };
    }
    if (data.length > this.maxPayloadBytes) {
      this.counters.rejectedTooLarge++;
      return { ok: false, reason: 'too-large', detail: `${data.length} bytes > max payload ${this.maxPayloadBytes}` };
    }
    const now = Date.now();
    stream.trim(now);
    const seen = stream.dedup.get(options.msgId);
    if (seen) {
      this.counters.duplicates++;
      return { ok: true, seq: seen.seq, duplicate: true };
    }
    const seq = ++stream.lastSeq;
    stream.dedup.set(options.msgId, { seq, at: now });
    // Interest retention: a message no durable wants is not kept (JetStream drops it at once too).
    if (stream.retention === 'interest' && !stream.wanted(camera)) {
      this.counters.published++;
      return { ok: true, seq, duplicate: false };
    }
    stream.messages.set(seq, { seq, camera, subject: subjectFor(kind, camera), data, at: now });
    stream.bytes += data.length;
    stream.trim(now);
    this.counters.published++;
    for (const g of stream.groups.values()) g.scheduleDispatch();
    return { ok: true, seq, duplicate: false };
  }

  async consume<K extends StreamKind>(kind: K, options: ConsumeOptions, handler: BatchHandler<K>): Promise<Consumer> {
    if (this.closed) throw new BusClosedError();
    const config = parseConsumeOptions(options);
    const stream = this.stream(kind);
    let group = stream.groups.get(config.durable) as DurableGroup<K> | undefined;
    if (!group) {
      group = new DurableGroup<K>(stream, config.durable, config, this.log.child({ kind, durable: config.durable }));
      stream.groups.set(config.durable, group as unknown as DurableGroup<StreamKind>);
    } else {
      // As a JetStream consumer update: the latest filter, ackWait and maxDeliver apply to the whole group.
      group.config = { ...config, deliverFrom: group.config.deliverFrom };
    }
    const consumer = new InProcessConsumer<K>(group, handler, config.batch, this.log.child({ kind, durable: config.durable }), (c) =>
      this.consumers.delete(c),
    );
    this.consumers.add(consumer);
    group.join(consumer);
    return consumer;
  }

  stats(): BusStats {
    return { ...this.counters };
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.close()));
    for (const s of this.streams.values()) for (const g of s.groups.values()) g.close();
  }
}
