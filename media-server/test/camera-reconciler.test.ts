import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cameraSchema, type CameraRecord } from '@chronotrace/contracts';
import { CameraCatalog, InProcessBus, createLogger, openStore, type Store } from '@chronotrace/platform';
import { CameraReconciler, IngestService } from '../src/index';

const log = createLogger('test');
const record = (id: string, extra: Partial<CameraRecord> = {}): CameraRecord => ({
  ...cameraSchema.parse({ id, name: id, source: 'testsrc:testsrc', fps: 2, width: 160 }),
  origin: 'api',
  createdAt: Date.now(),
  ...extra,
});

let store: Store;
let bus: InProcessBus;
let ingest: IngestService;
let catalog: CameraCatalog;
let reconciler: CameraReconciler;

beforeEach(async () => {
  store = await openStore({ kind: 'pglite' });
  bus = new InProcessBus();
  ingest = new IngestService({ bus, logger: log });
  catalog = new CameraCatalog(store, log, 60_000);
  reconciler = new CameraReconciler(catalog, ingest, log);
});
afterEach(async () => {
  reconciler.close();
  catalog.close();
  await ingest.close();
  await bus.close();
  await store.close();
});

const running = () => ingest.list().map((c) => `${c.id}@${c.config.fps}`).sort();

describe('CameraReconciler', () => {
  it('keeps the running cameras equal to the store: add, edit, disable, delete', async () => {
    await store.cameras.insert(record('a'));
    await catalog.start();
    await reconciler.start();
    expect(running()).toEqual(['a@2']);

    await store.cameras.insert(record('b'));
    await catalog.refresh();
    await reconciler.settled();
    expect(running()).toEqual(['a@2', 'b@2']);

    const supervisorBefore = ingest.camera('a');
    await store.cameras.upsert(record('a', { fps: 4 }));
    await catalog.refresh();
    await reconciler.settled();
    expect(running()).toEqual(['a@4', 'b@2']);
    expect(ingest.camera('a')).not.toBe(supervisorBefore);

    await store.cameras.upsert(record('b', { enabled: false }));
    await catalog.refresh();
    await reconciler.settled();
    expect(running()).toEqual(['a@4']);

    await store.cameras.delete('a');
    await catalog.refresh();
    await reconciler.settled();
    expect(running()).toEqual([]);
  });

  it('leaves a camera alone when only its name or privacy settings change', async () => {
    await store.cameras.insert(record('c'));
    await catalog.start();
    await reconciler.start();
    const supervisor = ingest.camera('c');
    await store.cameras.upsert(record('c', { name: 'Renamed', privacy: { faces: true, plates: false, heads: true, method: 'blur', margin: 0.2 } }));
    await catalog.refresh();
    await reconciler.settled();
    expect(ingest.camera('c')).toBe(supervisor);
    expect(catalog.get('c')?.privacy.method).toBe('blur');
  });
});
