import { afterAll, describe, expect, it } from 'vitest';
import { QUERY_PLAN_VERSION, type AlertMessage, type DetectedObjectBox, type RedactedFrameMeta, type StandingQuery } from '@chronotrace/contracts';
import { CameraCatalog, InProcessBus, JetStreamBus, createLogger, type Bus } from '@chronotrace/platform';
import sharp from 'sharp';
import { storeTargets } from '../../../platform/test/store-targets';
import { AnalyticsService, partitionOf } from '../../src/index';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const log = createLogger('analytics-test');
const [pglite, postgres] = storeTargets('analytics');
const jetstreams: JetStreamBus[] = [];
const prefixes: string[] = [];

afterAll(async () => {
  // The tests close their buses; a fresh connection removes the streams they made.
  for (const bus of jetstreams) await bus.close();
  if (prefixes.length === 0) return;
  const admin = await JetStreamBus.connect({ servers: NATS_URL, prefix: prefixes[0]! });
  try {
    for await (const name of admin.jsm.streams.names()) if (prefixes.some((p) => name.startsWith(`${p}_`))) await admin.jsm.streams.delete(name);
  } finally {
    await admin.close();
  }
});

const TARGETS = [
  { kind: 'in-process bus + PGlite', open: async () => ({ bus: new InProcessBus() as Bus, store: await pglite!.open() }) },
  {
    kind: 'JetStream + PostgreSQL',
    open: async () => {
      const prefix = `TESTAN_${process.pid}_${Date.now().toString(36)}_${prefixes.length}`;
      prefixes.push(prefix);
      const bus = await JetStreamBus.connect({ servers: NATS_URL, prefix });
      jetstreams.push(bus);
      return { bus: bus as Bus, store: await postgres!.open() };
    },
  },
];

const W = 320;
const H = 240;

/** A grey JPEG with a person in a red top at x. */
async function jpeg(x: number): Promise<Uint8Array> {
  const raw = Buffer.alloc(W * H * 3, 128);
  for (let y = 60; y < 150; y++) for (let xx = x; xx < x + 40; xx++) raw.set([210, 20, 20], (y * W + xx) * 3);
  return new Uint8Array(await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
}

function meta(camera: string, seq: number, objects: DetectedObjectBox[], t0: number): RedactedFrameMeta {
  return {
    camera,
    frameId: `${camera}:t:${seq}`,
    seq,
    capturedAt: t0 + seq * 500,
    width: W,
    height: H,
    redaction: { faces: [], plates: [], heads: [], objects, motion: { ran: true, changedRatio: 0.1, reason: 'motion' }, method: 'pixelate', models: [{ name: 'nanodet', version: 't' }], ms: 1, redactedAt: t0 + seq * 500 },
  };
}

function query(id: string, text: string, plan: StandingQuery['plan']): StandingQuery {
  return { id, text, plan, explanation: text, cameras: null, severity: 'warning', armed: true, version: 1, createdAt: 1, updatedAt: 1 };
}

async function collect(bus: Bus): Promise<{ alerts: AlertMessage[]; close(): Promise<void> }> {
  const alerts: AlertMessage[] = [];
  const c = await bus.consume('alerts', { durable: 'test-watch', deliverFrom: 'new' }, async (msgs) => {
    for (const m of msgs) {
      alerts.push(m.envelope.meta);
      m.ack();
    }
  });
  return { alerts, close: () => c.close() };
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(TARGETS)('AnalyticsService on $kind', (target) => {
  it('tracks redacted frames, names colours from their pixels, stores the scene, and fires a stored alert with its snapshot', async () => {
    const { bus, store } = await target.open();
    const catalog = new CameraCatalog(store, log);
    const service = new AnalyticsService({ bus, store, catalog, instance: 'test', matcher: { hysteresis: { n: 2, m: 3 }, cooldownMs: 60_000 }, logger: log });
    const watch = await collect(bus);
    try {
      await store.queries.insert(query('q-red', 'person in red', { version: QUERY_PLAN_VERSION, subject: { classes: ['person'], colors: [{ part: 'upper', colors: ['red'] }] } }));
      await store.queries.insert(query('q-blue', 'person in blue', { version: QUERY_PLAN_VERSION, subject: { classes: ['person'], colors: [{ part: 'upper', colors: ['blue'] }] } }));
      await service.start();
      const t0 = Date.now() - 10_000;
      for (let seq = 1; seq <= 5; seq++) {
        const x = 20 + seq * 4;
        const m = meta('gate', seq, [{ x, y: 40, w: 40, h: 180, label: 'person', score: 0.9 }], t0);
        await bus.publish('frames.redacted', 'gate', { meta: m, body: await jpeg(x) }, { msgId: m.frameId });
      }
      const alert = await until('an alert', () => watch.alerts[0]);
      expect(alert).toMatchObject({ queryId: 'q-red', camera: 'gate', kind: 'track', hasSnapshot: true });
      expect(alert.tracks[0]?.trackId).toMatch(/^gate:[0-9a-z]+:1$/);
      const stored = await until('the stored alert', async () => (await store.alerts.get(alert.id)) ?? undefined);
      expect(stored.ack).toBeNull();
      const snap = await store.alerts.snapshot(alert.id);
      expect([snap?.[0], snap?.[1]]).toEqual([0xff, 0xd8]);
      // Only one alert: the blue query never matched, the red one fired once for the track (all 5 frames matched).
      await until('all 5 frames matched', () => service.match.stats().frames >= 5 || undefined);
      expect(watch.alerts.map((a) => a.queryId)).toEqual(['q-red']);
      const frames = await until('5 stored scene frames', async () => {
        const f = await store.scene.frames({ from: t0, to: t0 + 10_000 });
        return f.length === 5 ? f : undefined;
      });
      expect(frames.at(-1)?.tracks[0]?.attributes?.upper?.dominant).toBe('red');
      // Tracks are written in their own batches: wait for the track too.
      const tracks = await until('the stored track', async () => {
        const t = await store.scene.tracks('gate');
        return t.length > 0 ? t : undefined;
      });
      expect(tracks.map((t) => t.label)).toEqual(['person']);
      expect(service.toJSON().match.core.matcher.queries).toBe(2);
    } finally {
      await watch.close();
      await service.close();
      catalog.close();
      await bus.close();
      await store.close();
    }
  });

  it('arms and disarms queries as the store changes, without a restart', async () => {
    const { bus, store } = await target.open();
    const catalog = new CameraCatalog(store, log);
    const service = new AnalyticsService({ bus, store, catalog, instance: 'test', matcher: { hysteresis: { n: 1, m: 1 }, cooldownMs: 0 }, logger: log });
    try {
      await service.start();
      expect(service.match.stats().core.matcher.queries).toBe(0);
      await store.queries.insert(query('q-any', 'person', { version: QUERY_PLAN_VERSION, subject: { classes: ['person'] } }));
      await service.match.refreshQueries();
      expect(service.match.stats().core.matcher.queries).toBe(1);
      const q = (await store.queries.get('q-any'))!;
      await store.queries.update({ ...q, armed: false, version: 2, updatedAt: 2 }, 1);
      // The periodic refresh (1 s) notices on its own.
      await until('disarmed', () => (service.match.stats().core.matcher.queries === 0 ? true : undefined), 5_000);
    } finally {
      await service.close();
      catalog.close();
      await bus.close();
      await store.close();
    }
  });
});

describe('AnalyticsService partitions on JetStream', () => {
  it('two partitions split the cameras: each camera is tracked by exactly one of them', async () => {
    const { bus, store } = await TARGETS[1]!.open();
    const catalog = new CameraCatalog(store, log);
    const parts = [0, 1].map((index) => new AnalyticsService({ bus, store, catalog, instance: `p${index}`, partition: { index, count: 2 }, matcher: { hysteresis: { n: 1, m: 1 } }, logger: log }));
    try {
      for (const p of parts) await p.start();
      const cameras = ['cam-a', 'cam-b', 'cam-c', 'cam-d', 'cam-e', 'cam-f'];
      const t0 = Date.now() - 10_000;
      for (const camera of cameras) {
        for (let seq = 1; seq <= 3; seq++) {
          const m = meta(camera, seq, [{ x: 20 + seq, y: 40, w: 40, h: 180, label: 'person', score: 0.9 }], t0);
          await bus.publish('frames.redacted', camera, { meta: m }, { msgId: m.frameId });
        }
      }
      await until('all frames tracked', () => (parts.reduce((s, p) => s + p.scene.stats().core.frames, 0) === cameras.length * 3 ? true : undefined));
      for (const [i, p] of parts.entries()) {
        const mine = Object.keys(p.scene.stats().cameras).sort();
        expect(mine).toEqual(cameras.filter((c) => partitionOf(c, 2) === i));
      }
    } finally {
      for (const p of parts) await p.close();
      catalog.close();
      await store.close();
    }
  });
});
