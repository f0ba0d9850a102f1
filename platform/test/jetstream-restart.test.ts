import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraHealth, Envelope } from '@chronotrace/contracts';
import { RetentionPolicy } from '@nats-io/jetstream';
import { JetStreamBus, type BusMessage, type Consumer } from '../src/bus/index';
import { NatsServerProcess } from '../../test/support/nats-server';

/**
 * The broker restarted under a running deployment (stopped, then started with the same store, as an
 * operator restarting the service does): the memory streams (frames) and their consumers are gone, the
 * file streams (health, alerts) come back from the store. Publishing and consuming must resume on both
 * with nothing delivered twice.
 */

let server: NatsServerProcess;
let bus: JetStreamBus;
const consumers: Consumer[] = [];

const frame = (n: number): Envelope<'frames.raw'> => ({
  meta: { camera: 'cam1', frameId: `cam1:0:${n}`, seq: n, capturedAt: Date.now(), width: 2, height: 2 },
  body: new Uint8Array([0xff, 0xd8, n & 0xff]),
});
const health = (n: number): Envelope<'health'> => {
  const h: CameraHealth = { camera: 'cam1', state: 'live', fps: n, lastFrameAt: Date.now(), restarts: 0, lastError: null, skipped: 0, redactionFailures: 0, at: Date.now() };
  return { meta: h };
};

async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, tick?: () => Promise<unknown>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await tick?.();
    await new Promise((r) => setTimeout(r, 50));
  }
}

const auth = { user: 'chronotrace', pass: 'a-test-password' };

beforeAll(async () => {
  server = await NatsServerProcess.start(['--user', auth.user, '--pass', auth.pass]);
  bus = await JetStreamBus.connect({ servers: server.url, prefix: 'RST', auth });
});

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.close()));
  await bus?.close();
  await server?.dispose();
});

describe('JetStreamBus on a broker with credentials', () => {
  it('is refused without them or with a wrong password, with a reason that says so', async () => {
    await expect(JetStreamBus.connect({ servers: server.url, prefix: 'RST' })).rejects.toThrow(/authoriz/i);
    await expect(JetStreamBus.connect({ servers: server.url, prefix: 'RST', auth: { ...auth, pass: 'wrong' } })).rejects.toThrow(/authoriz/i);
  });
});

describe('JetStreamBus across a broker restart', () => {
  it('recreates the lost memory streams and consumers; frames and health flow again, none twice', async () => {
    const frames: string[] = [];
    const healths: number[] = [];
    const ack = <K extends 'frames.raw' | 'health'>(into: (m: BusMessage<K>) => void) => async (ms: BusMessage<K>[]) => {
      for (const m of ms) {
        into(m);
        m.ack();
      }
    };
    consumers.push(await bus.consume('frames.raw', { durable: 'privacy' }, ack<'frames.raw'>((m) => frames.push(m.envelope.meta.frameId))));
    consumers.push(await bus.consume('health', { durable: 'web' }, ack<'health'>((m) => healths.push(m.envelope.meta.fps))));

    let n = 0;
    const publishBoth = async (): Promise<{ frame: boolean; health: boolean }> => {
      n++;
      const f = await bus.publish('frames.raw', 'cam1', frame(n), { msgId: `f${n}` });
      const h = await bus.publish('health', 'cam1', health(n), { msgId: `h${n}` });
      return { frame: f.ok, health: h.ok };
    };
    for (let i = 0; i < 5; i++) expect(await publishBoth()).toEqual({ frame: true, health: true });
    await waitUntil('the first 5 frames and health records', () => frames.length === 5 && healths.length === 5);
    // Every ack has reached the server (so the file consumer's state on disk is up to date).
    await waitUntil('acks settled', async () => (await bus.jsm.consumers.info('RST_HEALTH', 'RST_web')).num_ack_pending === 0);

    await server.stop();
    // While the broker is down a publish is a failed value, never a throw.
    const during = await publishBoth();
    expect(during).toEqual({ frame: false, health: false });
    const lastBefore = n;

    await server.startAgain();
    // Publish until a frame and a health record published after the restart have arrived.
    await waitUntil(
      'a frame and a health record published after the restart',
      () => frames.some((id) => Number(id.split(':')[2]) > lastBefore) && healths.some((x) => x > lastBefore),
      () => publishBoth(),
    );
    // The frames stream is back as it was created: interest retention, so no raw frame is kept once acked.
    expect((await bus.jsm.streams.info('RST_FRAMES_RAW')).config.retention).toBe(RetentionPolicy.Interest);
    // Nothing delivered twice: not the health records acked before the restart, not any frame.
    expect(frames.length - new Set(frames).size, 'frames delivered twice').toBe(0);
    expect(healths.length - new Set(healths).size, 'health records delivered twice').toBe(0);
    expect(healths.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    // And it keeps flowing: every further publish succeeds and arrives.
    const more = n;
    for (let i = 0; i < 5; i++) expect(await publishBoth()).toEqual({ frame: true, health: true });
    await waitUntil('5 more frames', () => frames.filter((id) => Number(id.split(':')[2]) > more).length === 5);
  });
});
