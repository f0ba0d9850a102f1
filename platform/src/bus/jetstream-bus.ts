import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type PubAck,
} from '@nats-io/jetstream';
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
import { assertCamera, BusClosedError, BusError } from './errors';
import { createLogger, type Logger } from '../logger';
import { DEFAULT_DEDUP_WINDOW_MS, cameraOfSubject, emptyConsumerStats, parseConsumeOptions, type ResolvedConsumeOptions } from './options';

/** Prefix of stream names, durable names and subjects. */
export const DEFAULT_BUS_PREFIX = 'CT';
/** Per-stream byte bound of the memory streams (frames); the oldest are discarded first. */
export const DEFAULT_MEMORY_STREAM_MAX_BYTES = 256 * 1024 * 1024;
/** How long one pull request waits on the server; close() aborts it at once. NATS' minimum is 1 s. */
const PULL_EXPIRES_MS = 1_000;

export interface JetStreamBusOptions {
  /** NATS server URL(s), e.g. 'nats://127.0.0.1:4222'. */
  servers: string | string[];
  /**
   * Isolates deployments and test runs sharing a server: streams `<prefix>_<NAME>`, durables
   * `<prefix>_<durable>`, subjects `<prefix>.<kind>.<camera>`. Letters, digits and '_'. Default 'CT'.
   */
  prefix?: string;
  /** Largest encoded envelope accepted; capped by the server's max_payload. Default DEFAULT_MAX_PAYLOAD_BYTES. */
  maxPayloadBytes?: number;
  /** Dedup window for msgId, capped at each stream's max age. Default 120 000 ms. */
  dedupWindowMs?: number;
  /** Byte bound of each memory-storage stream. Default 256 MiB. File streams are bounded by max age only. */
  memoryStreamMaxBytes?: number;
  /** Connection name shown by the server. Default 'chronotrace'. */
  name?: string;
  /** Credentials: user and password, or a token. Default: none. */
  auth?: { user: string; pass: string } | { token: string } | Record<string, never>;
}

const PREFIX = /^[A-Za-z0-9_]{1,32}$/;

/** Stream name for a kind: the STREAMS table's name with its 'CT' replaced by the prefix. */
export function jetStreamStreamName(prefix: string, kind: StreamKind): string {
  return `${prefix}_${STREAMS[kind].stream.replace(/^CT_/, '')}`;
}

/** Wire subject: the logical `subjectFor(kind, camera)` behind the prefix. */
export function jetStreamSubject(prefix: string, kind: StreamKind, camera: string): string {
  return `${prefix}.${subjectFor(kind, camera)}`;
}

/** Bytes the Nats-Msg-Id header adds to a message (max_payload counts headers too). */
function headerBytes(msgId: string): number {
  return Buffer.byteLength(`NATS/1.0\r\nNats-Msg-Id: ${msgId}\r\n\r\n`);
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/**
 * The server has no stream for the subject: a restart lost the memory streams ("stream not found"), or a
 * publish found no stream to take it (the client reports "jetstream is not enabled" on no responders).
 */
export function isMissingStream(err: unknown): boolean {
  return isApiError(err, JetStreamApiCodes.StreamNotFound) || (err instanceof Error && err.name === 'JetStreamNotEnabled');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class JetStreamMessage<K extends StreamKind> implements BusMessage<K> {
  readonly subject: string;
  readonly camera: string;
  readonly deliveryCount: number;
  readonly seq: number;
  settled = false;

  constructor(
    readonly kind: K,
    readonly envelope: Envelope<K>,
    private readonly msg: JsMsg,
    private readonly counters: ConsumerStats,
  ) {
    this.camera = cameraOfSubject(msg.subject);
    this.subject = subjectFor(kind, this.camera);
    this.deliveryCount = msg.info.deliveryCount;
    this.seq = msg.seq;
  }

  ack(): void {
    if (this.settle()) {
      this.msg.ack();
      this.counters.acked++;
    }
  }

  nak(delayMs?: number): void {
    if (this.settle()) {
      this.msg.nak(delayMs && delayMs > 0 ? delayMs : undefined);
      this.counters.naked++;
    }
  }

  term(): void {
    if (this.settle()) this.msg.term();
  }

  /** Hands the message back without counting it as a handler's nak (consumer closing). */
  release(delayMs = 0): void {
    if (this.settle()) this.msg.nak(delayMs > 0 ? delayMs : undefined);
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    return true;
  }
}

/** A consumer whose durable can be put back after the server lost it. */
interface RestorableConsumer extends Consumer {
  restore(): Promise<void>;
}

/**
 * One consume() call: a pull loop on the shared durable. It asks for at most `batch` messages at a time
 * and only when the previous ones have been handed to the handler and the handler is done, so an idle
 * replica is never starved by a busy one holding a backlog; messages arriving while a pull is open
 * are handed over at once (no waiting for the batch to fill).
 */
class JetStreamConsumer<K extends StreamKind> implements RestorableConsumer {
  private readonly counters = emptyConsumerStats();
  private readonly queue: JetStreamMessage<K>[] = [];
  private held: JetStreamMessage<K>[] = [];
  private pull: ConsumerMessages | null = null;
  private loop: Promise<void> | null = null;
  private worker: Promise<void> | null = null;
  private workerDone: (() => void) | null = null;
  private stopping = false;
  private closing: Promise<void> | null = null;
  private readonly cameras: Set<string> | null;
  /** When the server forgets the last pull request (it cannot be cancelled, only expire). */
  private pullExpiresAt = 0;

  constructor(
    private readonly bus: JetStreamBus,
    private readonly kind: K,
    readonly durable: string,
    private readonly streamName: string,
    private readonly consumerName: string,
    private readonly config: ResolvedConsumeOptions,
    private readonly handler: BatchHandler<K>,
    private readonly log: Logger,
  ) {
    this.cameras = config.cameras ? new Set(config.cameras) : null;
  }

  start(): void {
    this.loop = this.pullLoop();
  }

  private async pullLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        const consumer = await this.bus.js.consumers.get(this.streamName, this.consumerName);
        while (!this.stopping) {
          const pull = await consumer.fetch({ max_messages: this.config.batch, expires: PULL_EXPIRES_MS });
          this.pull = pull;
          this.pullExpiresAt = Date.now() + PULL_EXPIRES_MS;
          if (this.stopping) pull.stop();
          for await (const m of pull) this.accept(m);
          this.pull = null;
          failures = 0;
          await this.idle();
        }
      } catch (err) {
        this.pull = null;
        if (this.stopping) break;
        failures++;
        this.log.warn({ err, failures }, 'pull failed; retrying');
        if (isApiError(err, JetStreamApiCodes.ConsumerNotFound) || isMissingStream(err)) {
          // Deleted under us (stream recreated, a server restart lost the memory streams): put both back.
          if (isMissingStream(err)) await this.bus.restoreStreams('stream not found by a consumer');
          await this.bus.ensureConsumer(this.kind, this.consumerName, this.config).then(
            () => this.log.info('consumer recreated'),
            (e: unknown) => this.log.warn({ err: e }, 'cannot recreate consumer'),
          );
        }
        await sleep(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  private accept(m: JsMsg): void {
    let envelope: Envelope<K>;
    try {
      envelope = decodeEnvelope<K>(m.data);
    } catch (err) {
      this.log.error({ err, subject: m.subject, seq: m.seq }, 'undecodable envelope; terminated');
      m.term('undecodable envelope');
      return;
    }
    const msg = new JetStreamMessage(this.kind, envelope, m, this.counters);
    if (this.cameras && !this.cameras.has(msg.camera)) {
      m.ack(); // another camera's message on a server without multi-subject filters (see filterFor)
      return;
    }
    if (this.stopping) {
      msg.release();
      return;
    }
    this.queue.push(msg);
    this.worker ??= this.work();
  }

  /** Resolves when everything pulled so far has been handled. */
  private idle(): Promise<void> {
    if (!this.worker) return Promise.resolve();
    return new Promise((resolve) => {
      this.workerDone = resolve;
    });
  }

  private async work(): Promise<void> {
    // Let the rest of a burst arrive so it goes out as one batch.
    await new Promise<void>((r) => setImmediate(r));
    while (this.queue.length > 0 && !this.stopping) {
      const batch = this.queue.splice(0, this.config.batch);
      this.counters.delivered += batch.length;
      this.counters.redelivered += batch.filter((m) => m.deliveryCount > 1).length;
      this.held = [...this.held.filter((m) => !m.settled), ...batch];
      try {
        await this.handler(batch);
      } catch (err) {
        this.counters.handlerErrors++;
        this.log.error({ err, seqs: batch.map((m) => m.seq) }, "bus handler threw; unacked messages nak'ed");
        for (const m of batch) if (!m.settled) m.nak();
      }
    }
    this.worker = null;
    const done = this.workerDone;
    this.workerDone = null;
    done?.();
  }

  stats(): ConsumerStats {
    return { ...this.counters };
  }

  /** Puts the durable back if the server lost it (after a restart), without waiting for the pull loop to find out. */
  async restore(): Promise<void> {
    if (this.stopping) return;
    await this.bus.ensureConsumer(this.kind, this.consumerName, this.config).catch((err: unknown) => {
      this.log.warn({ err }, 'cannot restore consumer yet');
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping = true;
      this.pull?.stop();
      await this.worker;
      await this.loop;
      // Whatever this replica still holds goes back now rather than after ackWait; but not before our
      // stopped pull request has expired on the server, which would otherwise hand it to that dead
      // request (NATS 2.9 then also reports the next delivery as the first).
      const wait = Math.max(0, this.pullExpiresAt - Date.now() + 50);
      for (const m of [...this.held, ...this.queue.splice(0)]) m.release(wait);
      this.held = [];
      this.workerDone?.();
      this.bus.forget(this);
    })();
    return this.closing;
  }
}

/**
 * The distributed Bus on NATS JetStream. One stream per kind (`<prefix>_FRAMES_RAW`, … from STREAMS,
 * storage and max age from the table, dedup window min(dedupWindowMs, max age)), subjects
 * `<prefix>.<kind>.<camera>` (e.g. `CT.frames.raw.cam1`); messages report the logical subject
 * `<kind>.<camera>`. Consumers are durable pull consumers `<prefix>_<durable>` with explicit ack,
 * shared by every replica using the same durable name.
 */
export class JetStreamBus implements Bus {
  readonly kind = 'jetstream' as const;
  private readonly consumers = new Set<RestorableConsumer>();
  private readonly counters: BusStats = { published: 0, duplicates: 0, rejectedTooLarge: 0, publishErrors: 0 };
  private closing: Promise<void> | null = null;
  /** The streams being put back after a server restart (one attempt at a time). */
  private restoring: Promise<void> | null = null;

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly prefix: string,
    readonly maxPayloadBytes: number,
    private readonly serverMaxPayload: number,
    private readonly streamLimits: { dedupWindowMs: number; memoryMaxBytes: number },
    private readonly log: Logger,
  ) {}

  /** Connects, creates or updates the streams, and returns the bus. Throws when the server is unreachable. */
  static async connect(options: JetStreamBusOptions): Promise<JetStreamBus> {
    const prefix = options.prefix ?? DEFAULT_BUS_PREFIX;
    if (!PREFIX.test(prefix)) throw new BusError(`invalid bus prefix ${JSON.stringify(prefix)}: letters, digits and '_' (1–32)`);
    const log = createLogger('bus', { bus: 'jetstream', prefix });
    const nc = await connect({
      servers: options.servers,
      name: options.name ?? 'chronotrace',
      ...options.auth,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
    try {
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      const serverMax = nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD_BYTES;
      const max = Math.min(options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, serverMax);
      const limits = {
        dedupWindowMs: options.dedupWindowMs ?? DEFAULT_DEDUP_WINDOW_MS,
        memoryMaxBytes: options.memoryStreamMaxBytes ?? DEFAULT_MEMORY_STREAM_MAX_BYTES,
      };
      const bus = new JetStreamBus(nc, js, jsm, prefix, max, serverMax, limits, log);
      await bus.ensureStreams();
      bus.watchStatus();
      return bus;
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
  }

  private async ensureStreams(): Promise<void> {
    const { dedupWindowMs, memoryMaxBytes } = this.streamLimits;
    for (const kind of Object.keys(STREAMS) as StreamKind[]) {
      const spec = STREAMS[kind];
      const name = jetStreamStreamName(this.prefix, kind);
      const memory = spec.storage === 'memory';
      const limits = {
        subjects: [`${this.prefix}.${kind}.>`],
        max_age: nanos(spec.maxAgeMs),
        duplicate_window: nanos(Math.min(dedupWindowMs, spec.maxAgeMs)),
        max_bytes: memory ? memoryMaxBytes : -1,
        max_msg_size: this.serverMaxPayload,
        discard: DiscardPolicy.Old,
      };
      const retention = spec.retention === 'interest' ? RetentionPolicy.Interest : RetentionPolicy.Limits;
      const create = async (): Promise<void> => {
        await this.jsm.streams.add({ name, storage: memory ? StorageType.Memory : StorageType.File, num_replicas: 1, retention, ...limits });
        this.log.info({ stream: name, retention }, 'stream created');
      };
      let existing: Awaited<ReturnType<JetStreamManager['streams']['info']>> | undefined;
      try {
        existing = await this.jsm.streams.info(name);
      } catch (err) {
        if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
      }
      if (!existing) await create();
      else if (existing.config.retention !== retention) {
        // Retention cannot be changed in place. A live memory stream holds seconds of frames: recreate it
        // (a stream of raw frames left on limits retention would keep them replayable). Others: refuse.
        if (!(memory && spec.live)) throw new BusError(`stream ${name} has retention ${existing.config.retention}, expected ${retention}: migrate it by hand`);
        this.log.warn({ stream: name, from: existing.config.retention, to: retention }, 'stream retention changed: recreating it');
        await this.jsm.streams.delete(name);
        await create();
      } else await this.jsm.streams.update(name, limits);
    }
  }

  /**
   * Creates whatever stream the server lacks, as at connect: after a restart the server has lost its
   * memory streams (frames), and their consumers with them, while the file streams came back from its
   * store. Called on reconnect, by a publish that found no stream and by a consumer whose stream is gone;
   * one attempt at a time, all callers share it. Never throws: a failure is logged and the next caller
   * tries again.
   */
  restoreStreams(reason: string): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.restoring ??= this.ensureStreams()
      .then(
        () => this.log.info({ reason }, 'streams restored'),
        (err: unknown) => this.log.warn({ err, reason }, 'cannot restore streams yet'),
      )
      .finally(() => {
        this.restoring = null;
      });
    return this.restoring;
  }

  private watchStatus(): void {
    void (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') this.log.warn({ status: s.type }, 'nats connection');
        if (s.type === 'reconnect') {
          void this.restoreStreams('reconnected').then(() => Promise.all([...this.consumers].map((c) => c.restore())));
        }
      }
    })().catch(() => {});
  }

  /** Whether the server takes several filter subjects on one consumer (NATS 2.10+). */
  private multiFilter(): boolean {
    const [major = 0, minor = 0] = (this.nc.info?.version ?? '0.0.0').split('.').map(Number);
    return major > 2 || (major === 2 && minor >= 10);
  }

  /**
   * Server-side camera filter: `filter_subjects` when the server has it (2.10+), else `filter_subject`
   * for one camera or all; with several cameras on an older server the consumer takes the kind's whole
   * subject and drops the other cameras client side (acking them: this durable never wants them).
   */
  private filterFor(kind: StreamKind, cameras: string[] | null): { filter_subject?: string; filter_subjects?: string[] } {
    const all = `${this.prefix}.${kind}.>`;
    if (!cameras) return { filter_subject: all };
    const subjects = cameras.map((cam) => jetStreamSubject(this.prefix, kind, cam));
    if (subjects.length === 1) return { filter_subject: subjects[0] };
    return this.multiFilter() ? { filter_subjects: subjects } : { filter_subject: all };
  }

  /** Creates the durable, or updates the parts JetStream lets change (filter, ackWait, maxDeliver). */
  async ensureConsumer(kind: StreamKind, name: string, c: ResolvedConsumeOptions): Promise<void> {
    const stream = jetStreamStreamName(this.prefix, kind);
    const updatable = { ack_wait: nanos(c.ackWaitMs), max_deliver: c.maxDeliver, ...this.filterFor(kind, c.cameras) };
    const filters = (x: { filter_subject?: string; filter_subjects?: string[] }): string =>
      JSON.stringify(x.filter_subjects?.length ? x.filter_subjects : x.filter_subject ? [x.filter_subject] : []);
    try {
      const cur = (await this.jsm.consumers.info(stream, name)).config;
      if (cur.ack_wait !== updatable.ack_wait || cur.max_deliver !== updatable.max_deliver || filters(cur) !== filters(updatable)) {
        this.log.info({ durable: name }, 'consumer config changed; updating');
        // Not every server can change every field; the client-side camera filter keeps delivery right regardless.
        await this.jsm.consumers.update(stream, name, updatable).catch((err: unknown) => {
          this.log.warn({ err, durable: name }, 'cannot update consumer; keeping its current config');
        });
      }
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
      const config: Partial<ConsumerConfig> = {
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: c.deliverFrom === 'all' ? DeliverPolicy.All : DeliverPolicy.New,
        ...(c.expireAfterIdleMs !== null ? { inactive_threshold: nanos(c.expireAfterIdleMs) } : {}),
        ...updatable,
      };
      await this.jsm.consumers.add(stream, config);
    }
  }

  async publish<K extends StreamKind>(kind: K, camera: string, envelope: Envelope<K>, options: PublishOptions): Promise<PublishResult> {
    assertCamera(camera);
    if (this.closing || this.nc.isClosed()) return { ok: false, reason: 'closed', detail: 'bus is closed' };
    let data: Uint8Array;
    try {
      data = encodeEnvelope(envelope);
    } catch (err) {
      this.counters.publishErrors++;
      return { ok: false, reason: 'error', detail: `cannot encode envelope: ${String(err)}` };
    }
    const wire = data.length + headerBytes(options.msgId);
    if (data.length > this.maxPayloadBytes || wire > this.serverMaxPayload) {
      this.counters.rejectedTooLarge++;
      return {
        ok: false,
        reason: 'too-large',
        detail: `${data.length} bytes (${wire} with headers) > max payload ${this.maxPayloadBytes} (server ${this.serverMaxPayload})`,
      };
    }
    const subject = jetStreamSubject(this.prefix, kind, camera);
    try {
      let ack: PubAck;
      try {
        ack = await this.js.publish(subject, data, { msgID: options.msgId });
      } catch (err) {
        if (!isMissingStream(err)) throw err;
        // The server restarted without this (memory) stream: put the streams back and try once more.
        await this.restoreStreams(`publish to ${kind} found no stream`);
        ack = await this.js.publish(subject, data, { msgID: options.msgId });
      }
      if (ack.duplicate) this.counters.duplicates++;
      else this.counters.published++;
      return { ok: true, seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      this.counters.publishErrors++;
      this.log.warn({ err, kind, camera }, 'publish failed');
      return { ok: false, reason: 'error', detail: String(err) };
    }
  }

  async consume<K extends StreamKind>(kind: K, options: ConsumeOptions, handler: BatchHandler<K>): Promise<Consumer> {
    if (this.closing) throw new BusClosedError();
    const config = parseConsumeOptions(options);
    const name = `${this.prefix}_${config.durable}`;
    await this.ensureConsumer(kind, name, config);
    const log = this.log.child({ kind, durable: config.durable });
    const consumer = new JetStreamConsumer<K>(this, kind, config.durable, jetStreamStreamName(this.prefix, kind), name, config, handler, log);
    this.consumers.add(consumer);
    consumer.start();
    return consumer;
  }

  /** Called by a consumer when it has closed. */
  forget(consumer: RestorableConsumer): void {
    this.consumers.delete(consumer);
  }

  stats(): BusStats {
    return { ...this.counters };
  }

  async ping(): Promise<boolean> {
    if (this.closing || this.nc.isClosed()) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('ping timeout')), 2_000);
    });
    try {
      await Promise.race([this.nc.rtt(), timeout]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes every consumer (in-flight handlers finish, held messages go back), then drains the connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.consumers].map((c) => c.close()));
      if (!this.nc.isClosed()) await this.nc.drain().catch((err: unknown) => this.log.warn({ err }, 'drain failed'));
    })();
    return this.closing;
  }
}
