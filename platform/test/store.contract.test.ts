import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CameraHealth, CameraRecord, RedactedFrameMeta } from '@chronotrace/contracts';
import { PG_URL, schemaFactory, storeTargets, withStore, type StoreTarget } from './store-targets';
import {
  MigrationError,
  PgliteStore,
  PostgresStore,
  StoreClosedError,
  loadMigrations,
  openStore,
  runMigrations,
  type RedactionRecord,
} from '../src/store/index';

const freshSchema = schemaFactory('store_test');
const targets: StoreTarget[] = storeTargets('store_contract');

const T0 = 1_732_000_000_123; // exact ms must survive the round trip

function camera(id: string, overrides: Partial<CameraRecord> = {}): CameraRecord {
  return {
    id,
    name: `Camera ${id}`,
    location: 'Lobby, north door',
    source: 'testsrc:testsrc2',
    fps: 2.5,
    analysisFps: 2,
    width: 640,
    zones: [{ name: 'door', polygon: [[0.1, 0.2], [0.5, 0.2], [0.5, 0.9]] }],
    lines: [{ name: 'gate', from: [0.5, 0], to: [0.5, 1] }],
    schedules: [{ name: 'office', days: [1, 2, 3, 4, 5], from: '08:00', to: '18:00' }],
    privacy: { faces: true, plates: false, heads: true, method: 'blur', margin: 0.15 },
    enabled: true,
    recording: { enabled: true, retainDays: 7, retainGb: 10 },
    origin: 'api',
    createdAt: T0,
    ...overrides,
  };
}

function health(cam: string, at: number, state: CameraHealth['state'] = 'live'): CameraHealth {
  return { camera: cam, state, fps: 1.9, lastFrameAt: at - 10, restarts: 1, lastError: null, skipped: 3, redactionFailures: 0, at };
}

function redaction(cam: string, frameId: string, capturedAt: number): RedactionRecord {
  return {
    frameId,
    camera: cam,
    capturedAt,
    redactedAt: capturedAt + 41,
    faces: [{ x: 10, y: 20, w: 30.5, h: 40, score: 0.875, label: 'face' }],
    plates: [],
    heads: [{ x: 5, y: 6, w: 12.5, h: 14, score: 0.71, label: 'person-head' }],
    method: 'pixelate',
    models: [{ name: 'tiny_face_detector', version: '1.7.15' }],
    ms: 12.625,
  };
}

function snapshot(cam: string, capturedAt: number, jpeg: Uint8Array): { meta: RedactedFrameMeta; jpeg: Uint8Array } {
  return {
    meta: {
      camera: cam,
      frameId: `${cam}:${T0}:${capturedAt - T0}`,
      seq: capturedAt - T0,
      capturedAt,
      width: 640,
      height: 480,
      redaction: { faces: [], plates: [{ x: 1, y: 2, w: 3, h: 4 }], heads: [], objects: [], motion: { ran: false, changedRatio: 0, reason: 'off' }, method: 'pixelate', models: [], ms: 3.5, redactedAt: capturedAt + 5 },
    },
    jpeg,
  };
}

/** Every byte value, NULs and a JPEG SOI/EOI, so any text or escaping mishap shows. */
function binaryJpeg(seed: number): Uint8Array {
  const bytes = new Uint8Array(256 * 4 + 4);
  bytes.set([0xff, 0xd8], 0);
  for (let i = 0; i < 256 * 4; i++) bytes[i + 2] = (i * 7 + seed) & 0xff;
  bytes.set([0xff, 0xd9], bytes.length - 2);
  return bytes;
}

describe.each(targets)('Store contract on $kind', (target) => {
  it('inserts a camera, refuses a duplicate id, and returns the whole record', () =>
    withStore(target, async (store) => {
      const cam = camera('lobby');
      expect(await store.cameras.insert(cam)).toBe(true);
      expect(await store.cameras.insert(camera('lobby', { name: 'Impostor' }))).toBe(false);
      expect(await store.cameras.get('lobby')).toEqual(cam);
      expect(await store.cameras.get('nope')).toBeNull();
    }));

  it('lists cameras oldest first, upserts a replacement and deletes', () =>
    withStore(target, async (store) => {
      await store.cameras.insert(camera('b', { createdAt: T0 + 1, origin: 'config' }));
      await store.cameras.insert(camera('a', { createdAt: T0 + 2 }));
      expect((await store.cameras.list()).map((c) => c.id)).toEqual(['b', 'a']);

      const replaced = camera('b', { name: 'Renamed', enabled: false, zones: [], createdAt: T0 + 3, origin: 'api' });
      await store.cameras.upsert(replaced);
      await store.cameras.upsert(camera('c', { createdAt: T0 + 4 }));
      expect(await store.cameras.get('b')).toEqual(replaced);
      expect((await store.cameras.list()).map((c) => c.id)).toEqual(['a', 'b', 'c']);

      expect(await store.cameras.delete('a')).toBe(true);
      expect(await store.cameras.delete('a')).toBe(false);
      expect((await store.cameras.list()).map((c) => c.id)).toEqual(['b', 'c']);
    }));

  it('keeps one publish token hash per existing camera, replaces it, and drops it with the camera', () =>
    withStore(target, async (store) => {
      expect(await store.publishTokens.put({ camera: 'phone', tokenHash: 'a'.repeat(64), createdAt: T0 })).toBe(false);
      await store.cameras.insert(camera('phone', { source: 'webrtc' }));
      expect(await store.publishTokens.put({ camera: 'phone', tokenHash: 'a'.repeat(64), createdAt: T0 })).toBe(true);
      expect(await store.publishTokens.put({ camera: 'phone', tokenHash: 'b'.repeat(64), createdAt: T0 + 1 })).toBe(true);
      expect(await store.publishTokens.get('phone')).toEqual({ camera: 'phone', tokenHash: 'b'.repeat(64), createdAt: T0 + 1 });
      // A config re-seed (upsert) keeps it; deleting the camera removes it.
      await store.cameras.upsert(camera('phone', { source: 'webrtc', name: 'Phone 2' }));
      expect((await store.publishTokens.get('phone'))?.tokenHash).toBe('b'.repeat(64));
      expect(await store.cameras.delete('phone')).toBe(true);
      expect(await store.publishTokens.get('phone')).toBeNull();
      expect(await store.publishTokens.delete('phone')).toBe(false);
    }));

  it('grants a lease to one owner at a time, renews it for its owner, and frees it on release or expiry', () =>
    withStore(target, async (store) => {
      expect(await store.leases.acquire('cam:a', 'p1', 60_000)).toBe(true);
      expect(await store.leases.acquire('cam:a', 'p2', 60_000)).toBe(false);
      expect(await store.leases.acquire('cam:a', 'p1', 60_000)).toBe(true);
      expect(await store.leases.acquire('cam:b', 'p2', 60_000)).toBe(true);
      expect((await store.leases.live('cam:')).map((l) => [l.name, l.owner])).toEqual([['cam:a', 'p1'], ['cam:b', 'p2']]);
      expect(await store.leases.release('cam:a', 'p2')).toBe(false);
      expect(await store.leases.release('cam:a', 'p1')).toBe(true);
      expect(await store.leases.acquire('cam:a', 'p2', 60_000)).toBe(true);
      // An expired lease is free for anyone and no longer listed.
      expect(await store.leases.acquire('cam:c', 'p1', -1)).toBe(true);
      expect((await store.leases.live('cam:')).map((l) => l.name)).toEqual(['cam:a', 'cam:b']);
      expect(await store.leases.acquire('cam:c', 'p2', 60_000)).toBe(true);
    }));

  it('lists health events of one camera newest first, honouring the limit', () =>
    withStore(target, async (store) => {
      await store.healthEvents.append(health('cam1', T0 + 1000, 'starting'));
      await store.healthEvents.append(health('cam1', T0 + 3000, 'stalled'));
      await store.healthEvents.append(health('cam1', T0 + 2000, 'live'));
      await store.healthEvents.append(health('cam2', T0 + 9000, 'down'));

      const all = await store.healthEvents.list('cam1');
      expect(all.map((h) => h.at)).toEqual([T0 + 3000, T0 + 2000, T0 + 1000]);
      expect(all[0]).toEqual(health('cam1', T0 + 3000, 'stalled'));
      expect((await store.healthEvents.list('cam1', 2)).map((h) => h.state)).toEqual(['stalled', 'live']);
      expect(await store.healthEvents.list('cam1', 0)).toEqual([]);
      expect(await store.healthEvents.list('cam3')).toEqual([]);
      await expect(store.healthEvents.list('cam1', -1)).rejects.toBeInstanceOf(RangeError);
    }));

  it('keeps only state changes when health is offered with appendIfStateChanged', () =>
    withStore(target, async (store) => {
      expect(await store.healthEvents.appendIfStateChanged(health('cam1', T0 + 1000, 'starting'))).toBe(true);
      expect(await store.healthEvents.appendIfStateChanged(health('cam1', T0 + 2000, 'live'))).toBe(true);
      expect(await store.healthEvents.appendIfStateChanged(health('cam1', T0 + 4000, 'live'))).toBe(false);
      expect(await store.healthEvents.appendIfStateChanged(health('cam2', T0 + 4000, 'live'))).toBe(true);
      expect(await store.healthEvents.appendIfStateChanged(health('cam1', T0 + 6000, 'down'))).toBe(true);
      expect((await store.healthEvents.list('cam1')).map((h) => [h.state, h.at])).toEqual([
        ['down', T0 + 6000],
        ['live', T0 + 2000],
        ['starting', T0 + 1000],
      ]);
    }));

  it('appends a redaction once per frameId, lists newest first and counts', () =>
    withStore(target, async (store) => {
      const first = redaction('cam1', 'cam1:1:1', T0 + 100);
      await store.redactions.append([first]);
      await store.redactions.append([{ ...first, ms: 999 }]); // a redelivered frame
      // A batch, with a frame twice (kept once, as first written) and an empty one.
      const third = redaction('cam1', 'cam1:1:3', T0 + 300);
      await store.redactions.append([third, redaction('cam1', 'cam1:1:2', T0 + 200), { ...third, ms: 998 }, redaction('cam2', 'cam2:1:1', T0 + 50)]);
      await store.redactions.append([]);

      expect(await store.redactions.count('cam1')).toBe(3);
      expect(await store.redactions.count('cam2')).toBe(1);
      expect(await store.redactions.count('cam9')).toBe(0);
      expect(await store.redactions.count()).toBe(4);

      const listed = await store.redactions.list('cam1');
      expect(listed.map((r) => r.frameId)).toEqual(['cam1:1:3', 'cam1:1:2', 'cam1:1:1']);
      expect(listed[2]).toEqual(first);
      expect(listed[0]).toEqual(third);
      expect((await store.redactions.list('cam1', 1)).map((r) => r.frameId)).toEqual(['cam1:1:3']);
    }));

  it('round-trips snapshot bytes exactly as a plain Uint8Array', () =>
    withStore(target, async (store) => {
      const snap = snapshot('cam1', T0 + 10, binaryJpeg(1));
      await store.snapshots.putLatest(snap);
      const got = await store.snapshots.getLatest('cam1');
      expect(got).not.toBeNull();
      expect(Object.getPrototypeOf(got?.jpeg)).toBe(Uint8Array.prototype);
      expect(got?.jpeg).toEqual(snap.jpeg);
      expect(got?.meta).toEqual(snap.meta);
      expect(await store.snapshots.getLatest('cam2')).toBeNull();
    }));

  it('keeps the newest snapshot when an older frame arrives late, and deletes', () =>
    withStore(target, async (store) => {
      const newer = snapshot('cam1', T0 + 2000, binaryJpeg(2));
      await store.snapshots.putLatest(newer);
      await store.snapshots.putLatest(snapshot('cam1', T0 + 1000, binaryJpeg(3)));
      expect(await store.snapshots.getLatest('cam1')).toEqual(newer);

      const newest = snapshot('cam1', T0 + 3000, binaryJpeg(4));
      await store.snapshots.putLatest(newest);
      expect(await store.snapshots.getLatest('cam1')).toEqual(newest);

      await store.snapshots.delete('cam1');
      expect(await store.snapshots.getLatest('cam1')).toBeNull();
      await store.snapshots.delete('cam1');
    }));

  it('treats a second migrate() as a no-op that keeps the data', () =>
    withStore(target, async (store) => {
      const before = await store.appliedMigrations();
      expect(before.map((m) => m.version)).toEqual((await loadMigrations()).map((m) => m.version));
      await store.cameras.insert(camera('kept'));
      await store.migrate();
      expect(await store.appliedMigrations()).toEqual(before);
      expect(await store.cameras.get('kept')).toEqual(camera('kept'));
    }));

  it('refuses to run when an applied migration was edited afterwards', () =>
    withStore(target, async (store) => {
      const migrations = await loadMigrations();
      const edited = migrations.map((m, i) => (i === 0 ? { ...m, checksum: 'edited' } : m));
      await expect(runMigrations(store.db, edited)).rejects.toBeInstanceOf(MigrationError);
    }));

  it('answers ping while open, and closes idempotently', async () => {
    const store = await target.open();
    expect(await store.ping()).toBe(true);
    await Promise.all([store.close(), store.close()]);
    await store.close();
    expect(await store.ping()).toBe(false);
    await expect(store.cameras.list()).rejects.toBeInstanceOf(StoreClosedError);
  });
});

describe('PostgresStore', () => {
  it('lets two connections migrate the same fresh schema at once', async () => {
    const schema = freshSchema();
    const [a, b] = await Promise.all([
      PostgresStore.connect({ url: PG_URL, schema }),
      PostgresStore.connect({ url: PG_URL, schema }),
    ]);
    try {
      expect(await a.appliedMigrations()).toEqual([]);
      await Promise.all([a.migrate(), b.migrate(), a.migrate()]);
      const applied = await b.appliedMigrations();
      expect(applied.map((m) => m.version)).toEqual((await loadMigrations()).map((m) => m.version));
      expect(await a.cameras.insert(camera('x'))).toBe(true);
      expect(await b.cameras.get('x')).toEqual(camera('x'));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps schemas apart', async () => {
    const [a, b] = await Promise.all([
      openStore({ kind: 'postgres', url: PG_URL, schema: freshSchema() }),
      openStore({ kind: 'postgres', url: PG_URL, schema: freshSchema() }),
    ]);
    try {
      await a.cameras.insert(camera('only-in-a'));
      expect(await b.cameras.list()).toEqual([]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('fails to connect to a server that is not there', async () => {
    await expect(PostgresStore.connect({ url: 'postgres://postgres@127.0.0.1:1/test', connectTimeoutS: 2 })).rejects.toThrow();
  });

  it('rejects a schema name outside the safe alphabet', async () => {
    await expect(PostgresStore.connect({ url: PG_URL, schema: 'x"; drop table y; --' })).rejects.toBeInstanceOf(RangeError);
  });
});

describe('PgliteStore', () => {
  it('persists in a data folder across close and reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ct-pglite-'));
    try {
      const first = await openStore({ kind: 'pglite', dataDir: join(dir, 'db') });
      await first.cameras.insert(camera('persisted'));
      const snap = snapshot('persisted', T0 + 5, binaryJpeg(9));
      await first.snapshots.putLatest(snap);
      await first.close();

      const again = await openStore({ kind: 'pglite', dataDir: join(dir, 'db') });
      try {
        expect(again.kind).toBe('pglite');
        expect(await again.cameras.get('persisted')).toEqual(camera('persisted'));
        expect(await again.snapshots.getLatest('persisted')).toEqual(snap);
        expect((await again.appliedMigrations()).length).toBe((await loadMigrations()).length);
      } finally {
        await again.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('starts empty in memory each time', async () => {
    const a = await PgliteStore.open();
    try {
      expect(a.dataDir).toBeUndefined();
      expect(await a.appliedMigrations()).toEqual([]);
    } finally {
      await a.close();
    }
  });
});
