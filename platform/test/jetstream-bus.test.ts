import { afterAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { JetStreamBus } from '../src/bus/index';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const PREFIX = `TESTJS_${process.pid}_${Date.now().toString(36)}`;
let bus: JetStreamBus | undefined;

afterAll(async () => {
  if (!bus) return;
  for await (const name of bus.jsm.streams.names()) if (name.startsWith(`${PREFIX}_`)) await bus.jsm.streams.delete(name);
  await bus.close();
});

describe('JetStreamBus specifics', () => {
  it('gives a per-replica durable an inactivity threshold so it does not outlive its replica', async () => {
    bus = await JetStreamBus.connect({ servers: NATS_URL, prefix: PREFIX });
    const shared = await bus.consume('health', { durable: 'shared' }, async (m) => m.forEach((x) => x.ack()));
    const own = await bus.consume('health', { durable: 'replica-1', expireAfterIdleMs: 60_000 }, async (m) => m.forEach((x) => x.ack()));
    const jsm = await jetstreamManager(bus.nc);
    const stream = `${PREFIX}_HEALTH`;
    expect((await jsm.consumers.info(stream, `${PREFIX}_replica-1`)).config.inactive_threshold).toBe(60_000 * 1_000_000);
    expect((await jsm.consumers.info(stream, `${PREFIX}_shared`)).config.inactive_threshold ?? 0).toBe(0);
    await shared.close();
    await own.close();
  });
});
