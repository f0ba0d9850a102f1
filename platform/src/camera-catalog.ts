import { EventEmitter } from 'node:events';
import type { CameraRecord, StreamsConfig } from '@chronotrace/contracts';
import type { Store } from './store/store';
import type { Logger } from './logger';
import { coalescing } from './process-lifecycle';

export interface CameraCatalogEvents {
  /** The list changed: added, removed or edited cameras. */
  change: [CameraRecord[]];
}

/**
 * A process's view of the camera list, read from the Store (the source of truth every process
 * shares) and refreshed every `refreshMs` (default 2000 ms) or at once with refresh(). Ingest
 * reconciles its sources against it; stages read per-camera settings from it.
 */
export class CameraCatalog extends EventEmitter<CameraCatalogEvents> {
  private cameras = new Map<string, CameraRecord>();
  private fingerprint = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly refreshMs = 2000,
  ) {
    super();
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer ??= setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  get(id: string): CameraRecord | undefined {
    return this.cameras.get(id);
  }

  list(): CameraRecord[] {
    return [...this.cameras.values()];
  }

  /** Re-reads the store; concurrent calls coalesce into one more read. */
  readonly refresh: () => Promise<void> = coalescing(async () => {
    try {
      const list = await this.store.cameras.list();
      const fp = JSON.stringify(list);
      if (fp !== this.fingerprint) {
        this.fingerprint = fp;
        this.cameras = new Map(list.map((c) => [c.id, c]));
        this.emit('change', list);
      }
    } catch (e) {
      this.log.warn({ err: e }, 'could not read the camera list; keeping the last one');
    }
  });

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Writes the config file's cameras into the store (origin 'config') and removes config cameras
 * no longer in the file; cameras added through the API are kept. Idempotent, so every process
 * of a distributed deployment may run it at start-up.
 */
export async function seedCamerasFromConfig(store: Store, config: StreamsConfig, log: Logger): Promise<void> {
  const inFile = new Set(config.cameras.map((c) => c.id));
  const existing = await store.cameras.list();
  for (const rec of existing) {
    if (rec.origin === 'config' && !inFile.has(rec.id)) {
      await store.cameras.delete(rec.id);
      log.info({ camera: rec.id }, 'camera removed from config file');
    }
  }
  const byId = new Map(existing.map((r) => [r.id, r]));
  for (const cam of config.cameras) {
    const prev = byId.get(cam.id);
    if (prev?.origin === 'api') log.warn({ camera: cam.id }, 'config camera replaces a camera of the same id that was added through the API');
    await store.cameras.upsert({ ...cam, origin: 'config', createdAt: prev?.createdAt ?? Date.now() });
  }
}
