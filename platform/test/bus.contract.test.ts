import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Envelope } from '@chronotrace/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { InProcessBus, JetStreamBus, type Bus, type BusMessage, type ConsumeOptions, type Consumer } from '../src/bus/index';

/**
 * One contract, two implementations: every behaviour the pipeline relies on must hold for the embedded
 * bus and for JetStream alike. The JetStream suite runs on the real server (NATS_URL, default
 * 127.0.0.1:4222) and fails, not skips, when it is unreachable.
 */

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
/** Unique per run: streams `<PREFIX>_*` are this run's alone and are deleted afterwards. */
const PREFIX = `TEST_${process.pid}_${Date.now().toString(36)}`;
let isolatedRuns = 0;

interface BusFactory {
  name: string;
  /** `isolated`: streams of its own (no durable left by earlier tests shares them). */
  create(opts?: { maxPayloadBytes?: number; isolated?: boolean }): Promise<Bus>;
  /** Removes what the run left on the server. */
  cleanup(): Promise<void>;
}

const factories: BusFactory[] = [
  {
    name: 'InProcessBus',
    create: async (opts) => new InProcessBus(opts?.maxPayloadBytes !== undefined ? { maxPayloadBytes: opts.maxPayloadBytes } : {}),
    cleanup: async () => {},
  },
  {
    name: 'JetStreamBus',
    create: async (opts) =>
      JetStreamBus.connect({
        servers: NATS_URL,
        prefix: opts?.isolated ? `${PREFIX}_I${(isolatedRuns++).toString(36)}` : PREFIX,
        ...(opts?.maxPayloadBytes !== undefined ? { maxPayloadBytes: opts.maxPayloadBytes } : {}),
      }),
    cleanup: async () => {
      const nc = await connect({ servers: NATS_URL });
      try {
        const jsm = await jetstreamManager(nc);
        for await (const name of jsm.streams.names()) if (name.startsWith(`${PREFIX}_`)) await jsm.streams.delete(name);
      } finally {
        await nc.close();
      }
    },
  },
];

let uniq = 0;
/** Unique per test so durables and cameras never see another test's traffic. */
const unique = (what: string): string => `${what}${Date.now().toString(36)}${(uniq++).toString(36)}`;

function frame(camera: string, seq: number, body?: Uint8Array): Envelope<'frames.raw'> {
  const meta = { camera, frameId: `${camera}:0:${seq}`, seq, capturedAt: Date.now(), width: 640, height: 480 };
  return body ? { meta, body } : { meta };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

type Msg = BusMessage<'frames.raw'>;

describe.each(factories)('Bus contract: $name', (factory) => {
  let bus: Bus;
  const consumers: Consumer[] = [];

  const consume = async (
    options: ConsumeOptions,
    onMessage: (m: Msg, seen: Msg[]) => void | Promise<void> = (m) => m.ack(),
  ): Promise<{ consumer: Consumer; seen: Msg[] }> => {
    const seen: Msg[] = [];
    const consumer = await bus.consume('frames.raw', options, async (batch) => {
      for (const m of batch) {
        seen.push(m);
        await onMessage(m, seen);
      }
    });
    consumers.push(consumer);
    return { consumer, seen };
  };

  beforeEach(async () => {
    bus = await factory.create();
  });

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.close()));
    // Undefined when create() failed (server unreachable): the test has failed already.
    if (bus) await bus.close();
  });

  afterAll(async () => {
    await factory.cleanup();
  });

  it('delivers a published frame with its metadata and binary body intact', async () => {
    const camera = unique('cam');
    const { seen } = await consume({ durable: unique('d'), ackWaitMs: 1_000 });
    const body = new Uint8Array(70_000).map((_, i) => (i * 7) % 256);
    const env = frame(camera, 1, body);
    const r = await bus.publish('frames.raw', camera, env, { msgId: env.meta.frameId });
    expect(r).toMatchObject({ ok: true, duplicate: false });
    await waitFor('delivery', () => seen.length === 1);
    const m = seen[0]!;
    expect(m.kind).toBe('frames.raw');
    expect(m.camera).toBe(camera);
    expect(m.subject).toBe(`frames.raw.${camera}`);
    expect(m.deliveryCount).toBe(1);
    expect(r.ok && m.seq).toBe(r.ok && r.seq);
    expect(m.envelope.meta).toEqual(env.meta);
    expect(m.envelope.body).toEqual(body);
    expect(bus.stats().published).toBe(1);
    expect(await bus.ping()).toBe(true);
  });

  it('hands batches oldest first and replays kept messages with deliverFrom all (a limits-retention stream)', async () => {
    const camera = unique('cam');
    for (let i = 1; i <= 5; i++) await bus.publish('frames.redacted', camera, frame(camera, i), { msgId: unique('m') });
    const batches: number[][] = [];
    const consumer = await bus.consume('frames.redacted', { durable: unique('d'), deliverFrom: 'all', cameras: [camera], batch: 16 }, async (b) => {
      batches.push(b.map((m) => m.envelope.meta.seq));
      b.forEach((m) => m.ack());
    });
    consumers.push(consumer);
    await waitFor('five messages', () => batches.flat().length === 5);
    expect(batches.flat()).toEqual([1, 2, 3, 4, 5]);
    for (const b of batches) expect(b.length).toBeLessThanOrEqual(16);
  });

  it('keeps no raw frame once its durable acked it, nor one that no durable wants (interest retention): raw frames are not replayable', async () => {
    // Streams of its own: durables earlier tests left (they want every camera) would hold frames on JetStream.
    await bus.close();
    bus = await factory.create({ isolated: true });
    const camera = unique('cam');
    const { seen } = await consume({ durable: unique('privacy'), cameras: [camera] });
    for (let i = 1; i <= 3; i++) await bus.publish('frames.raw', camera, frame(camera, i), { msgId: unique('m') });
    await waitFor('three acked', () => seen.length === 3);
    // A camera no durable takes: its frames are not kept at all.
    const unwanted = unique('cam');
    await bus.publish('frames.raw', unwanted, frame(unwanted, 1), { msgId: unique('m') });
    // A late reader asking for everything kept gets only what is published after it joined (the marker).
    const replayed: number[] = [];
    const late = await bus.consume('frames.raw', { durable: unique('late'), deliverFrom: 'all', cameras: [camera, unwanted] }, async (b) => {
      for (const m of b) {
        replayed.push(m.envelope.meta.seq);
        m.ack();
      }
    });
    consumers.push(late);
    await bus.publish('frames.raw', camera, frame(camera, 99), { msgId: unique('m') });
    await waitFor('the marker', () => replayed.includes(99));
    expect(replayed).toEqual([99]);
  });

  it('does not redeliver an acked message', async () => {
    const camera = unique('cam');
    const { seen, consumer } = await consume({ durable: unique('d'), ackWaitMs: 500 });
    await bus.publish('frames.raw', camera, frame(camera, 1), { msgId: unique('m') });
    await waitFor('delivery', () => seen.length === 1);
    await sleep(1_200);
    expect(seen).toHaveLength(1);
    expect(consumer.stats()).toMatchObject({ delivered: 1, acked: 1, redelivered: 0 });
  });

  it('redelivers an unacked message after ackWait with an increased deliveryCount', async () => {
    const camera = unique('cam');
    const { seen } = await consume({ durable: unique('d'), ackWaitMs: 500 }, (m) => {
      if (m.deliveryCount > 1) m.ack();
    });
    await bus.publish('frames.raw', camera, frame(camera, 1), { msgId: unique('m') });
    await waitFor('redelivery', () => seen.length === 2, 4_000);
    expect(seen.map((m) => m.deliveryCount)).toEqual([1, 2]);
  });

  it('redelivers to another replica of the same durable when the holder closes without acking', async () => {
    const camera = unique('cam');
    const durable = unique('d');
    const a = await consume({ durable, ackWaitMs: 800 }, () => {}); // never acks: a replica about to die
    await bus.publish('frames.raw', camera, frame(camera, 1), { msgId: unique('m') });
    await waitFor('delivery to A', () => a.seen.length === 1);
    const b = await consume({ durable, ackWaitMs: 800 });
    await a.consumer.close();
    await waitFor('redelivery to B', () => b.seen.length === 1, 5_000);
    expect(b.seen[0]!.deliveryCount).toBe(2);
    expect(b.seen[0]!.envelope.meta.seq).toBe(1);
    expect(a.seen).toHaveLength(1);
  });

  it('redelivers a nak\'ed message, after the requested delay', async () => {
    const camera = unique('cam');
    const at: number[] = [];
    const { seen, consumer } = await consume({ durable: unique('d'), ackWaitMs: 5_000 }, (m) => {
      at.push(Date.now());
      if (m.deliveryCount === 1) m.nak();
      else if (m.deliveryCount === 2) m.nak(300);
      else m.ack();
    });
    await bus.publish('frames.raw', camera, frame(camera, 1), { msgId: unique('m') });
    await waitFor('third delivery', () => seen.length === 3, 4_000);
    expect(seen.map((m) => m.deliveryCount)).toEqual([1, 2, 3]);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(250);
    expect(consumer.stats()).toMatchObject({ delivered: 3, naked: 2, acked: 1, redelivered: 2 });
  });

  it('does not redeliver a termed message', async () => {
    const camera = unique('cam');
    const { seen } = await consume({ durable: unique('d'), ackWaitMs: 400 }, (m) => m.term());
    await bus.publish('frames.raw', camera, frame(camera, 1), { msgId: unique('m') });
    await waitFor('delivery', () => seen.length === 1);
    await sleep(1_000);
    expect(seen).toHaveLength(1);
  });

  it('stops after maxDeliver deliveries', async () => {
    const camera = unique('cam');
    const { seen } = await consume({ durable: unique('d'), ackWaitMs: 5_000, maxDeliver: 2 }, (m) => m.nak());
    await bus.publish('frames.raw', camera, frame(camera, 1), { msgId: unique('m') });
    await waitFor('two deliveries', () => seen.length === 2);
    await sleep(500);
    expect(seen.map((m) => m.deliveryCount)).toEqual([1, 2]);
  });

  it('splits the work between two consumers of the same durable, each message handled once', async () => {
    const camera = unique('cam');
    const durable = unique('d');
    const slowAck = async (m: Msg): Promise<void> => {
      await sleep(15);
      m.ack();
    };
    const a = await consume({ durable, batch: 1, ackWaitMs: 2_000 }, slowAck);
    const b = await consume({ durable, batch: 1, ackWaitMs: 2_000 }, slowAck);
    const n = 20;
    for (let i = 1; i <= n; i++) await bus.publish('frames.raw', camera, frame(camera, i), { msgId: unique('m') });
    await waitFor('all handled', () => a.seen.length + b.seen.length >= n);
    await sleep(300);
    const seqs = [...a.seen, ...b.seen].map((m) => m.envelope.meta.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(a.seen.length).toBeGreaterThan(0);
    expect(b.seen.length).toBeGreaterThan(0);
  });

  it('accepts a duplicate msgId without delivering it again', async () => {
    const camera = unique('cam');
    const { seen } = await consume({ durable: unique('d'), ackWaitMs: 1_000 });
    const env = frame(camera, 1);
    const first = await bus.publish('frames.raw', camera, env, { msgId: env.meta.frameId });
    const again = await bus.publish('frames.raw', camera, env, { msgId: env.meta.frameId });
    expect(first).toMatchObject({ ok: true, duplicate: false });
    expect(again).toMatchObject({ ok: true, duplicate: true });
    expect(first.ok && again.ok && again.seq).toBe(first.ok && first.seq);
    await bus.publish('frames.raw', camera, frame(camera, 2), { msgId: unique('m') });
    await waitFor('second frame', () => seen.length >= 2);
    await sleep(200);
    expect(seen.map((m) => m.envelope.meta.seq)).toEqual([1, 2]);
    expect(bus.stats()).toMatchObject({ published: 2, duplicates: 1 });
  });

  it('rejects an envelope larger than the max payload and counts it', async () => {
    await bus.close();
    bus = await factory.create({ maxPayloadBytes: 64 * 1024 });
    expect(bus.maxPayloadBytes).toBe(64 * 1024);
    const camera = unique('cam');
    const { seen } = await consume({ durable: unique('d'), ackWaitMs: 1_000 });
    const big = await bus.publish('frames.raw', camera, frame(camera, 1, new Uint8Array(64 * 1024)), { msgId: unique('m') });
    expect(big).toMatchObject({ ok: false, reason: 'too-large' });
    expect(!big.ok && big.detail).toMatch(/bytes/);
    const small = await bus.publish('frames.raw', camera, frame(camera, 2, new Uint8Array(32 * 1024)), { msgId: unique('m') });
    expect(small).toMatchObject({ ok: true });
    await waitFor('the fitting frame', () => seen.length === 1);
    expect(seen[0]!.envelope.meta.seq).toBe(2);
    expect(bus.stats()).toMatchObject({ published: 1, rejectedTooLarge: 1 });
  });

  it('delivers only the cameras a consumer asked for', async () => {
    const [c1, c2, c3] = [unique('cam'), unique('cam'), unique('cam')];
    const { seen } = await consume({ durable: unique('d'), cameras: [c1, c3], ackWaitMs: 1_000 });
    for (const c of [c1, c2, c3, c2, c1]) await bus.publish('frames.raw', c, frame(c, 1), { msgId: unique('m') });
    await waitFor('three frames', () => seen.length === 3);
    await sleep(200);
    expect(seen.map((m) => m.camera)).toEqual([c1, c3, c1]);
  });

  it('survives a throwing handler and redelivers what it did not ack', async () => {
    const camera = unique('cam');
    let calls = 0;
    const seen: Msg[] = [];
    const consumer = await bus.consume('frames.raw', { durable: unique('d'), ackWaitMs: 5_000 }, async (batch) => {
      calls++;
      seen.push(...batch);
      if (calls === 1) throw new Error('stage bug');
      batch.forEach((m) => m.ack());
    });
    consumers.push(consumer);
    await bus.publish('frames.raw', camera, frame(camera, 1), { msgId: unique('m') });
    await waitFor('redelivery', () => seen.length >= 2, 3_000);
    expect(seen.slice(0, 2).map((m) => [m.envelope.meta.seq, m.deliveryCount])).toEqual([
      [1, 1],
      [1, 2],
    ]);
    await bus.publish('frames.raw', camera, frame(camera, 2), { msgId: unique('m') });
    await waitFor('the next frame', () => seen.some((m) => m.envelope.meta.seq === 2));
    expect(consumer.stats()).toMatchObject({ handlerErrors: 1, naked: 1 });
  });

  it('reports closed after close(), and close is idempotent', async () => {
    await bus.close();
    await bus.close();
    const camera = unique('cam');
    expect(await bus.publish('frames.raw', camera, frame(camera, 1), { msgId: unique('m') })).toMatchObject({ ok: false, reason: 'closed' });
    expect(await bus.ping()).toBe(false);
  });
});
