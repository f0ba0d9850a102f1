import { cameraSchema, formatIssues, type CameraConfig, type CameraRecord, type StreamsConfig } from '@chronotrace/contracts';
import { seedCamerasFromConfig, type Logger, type MediaFiles, type Store } from '@chronotrace/platform';

export type AddCameraResult =
  | { ok: true; camera: CameraRecord }
  | { ok: false; status: 400 | 409; error: string; details?: string[] };

export type RemoveCameraResult = { ok: true } | { ok: false; status: 404 | 409; error: string };

/**
 * The camera list. The Store is the source of truth, shared by every process: the config file's
 * cameras are written there at start-up (origin 'config'), cameras added through the API are
 * kept there (origin 'api') and survive restarts. Ingest reconciles against it.
 */
export class CameraService {
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** Writes the config's cameras into the store and removes config cameras no longer in the file. */
  async seedFromConfig(config: StreamsConfig): Promise<void> {
    await seedCamerasFromConfig(this.store, config, this.log);
    this.changed();
  }

  list(): Promise<CameraRecord[]> {
    return this.store.cameras.list();
  }

  get(id: string): Promise<CameraRecord | null> {
    return this.store.cameras.get(id);
  }

  async add(input: unknown): Promise<AddCameraResult> {
    const parsed = cameraSchema.safeParse(input);
    if (!parsed.success) return { ok: false, status: 400, error: 'invalid camera', details: formatIssues(parsed.error.issues) };
    const cam: CameraConfig = parsed.data;
    // A camera added through the API brings the definitions of the schedules it names.
    const defined = new Set(cam.schedules.map((x) => x.name));
    const missing = [
      ...(cam.schedule !== undefined && !defined.has(cam.schedule) ? [`schedule: no schedule "${cam.schedule}" in schedules`] : []),
      ...cam.zones.flatMap((z, i) => (z.schedule !== undefined && !defined.has(z.schedule) ? [`zones.${i}.schedule: no schedule "${z.schedule}" in schedules`] : [])),
    ];
    if (missing.length) return { ok: false, status: 400, error: 'invalid camera', details: missing };
    const record: CameraRecord = { ...cam, origin: 'api', createdAt: Date.now() };
    const inserted = await this.store.cameras.insert(record);
    if (!inserted) return { ok: false, status: 409, error: `a camera with id "${cam.id}" already exists`, details: [`id: "${cam.id}" is taken`] };
    this.log.info({ camera: cam.id, source: redactSource(cam.source) }, 'camera added');
    this.changed();
    return { ok: true, camera: record };
  }

  /** An uploaded video's virtual camera (origin 'upload', never ingested). False when the id is taken. */
  async addUploadCamera(record: CameraRecord): Promise<boolean> {
    const inserted = await this.store.cameras.insert(record);
    if (inserted) this.changed();
    return inserted;
  }

  /** A virtual camera of a cancelled or failed upload: the record and everything stored under it. */
  async purgeUploadCamera(id: string, media: MediaFiles): Promise<void> {
    const rec = await this.store.cameras.get(id);
    if (rec && rec.origin !== 'upload') throw new Error(`camera "${id}" is not an upload's`);
    await this.store.cameras.delete(id);
    await this.store.snapshots.delete(id);
    await this.store.trackSummaries.deleteCamera(id);
    await this.store.scene.deleteCamera(id);
    const segments = await this.store.recordings.list(id);
    await this.store.recordings.delete(id, segments);
    await media.deletePrefix(`recordings/${id}/`);
    this.changed();
  }

  async remove(id: string): Promise<RemoveCameraResult> {
    const rec = await this.store.cameras.get(id);
    if (!rec) return { ok: false, status: 404, error: `no camera "${id}"` };
    if (rec.origin === 'config') {
      return { ok: false, status: 409, error: `camera "${id}" is defined in the streams config file; remove it there` };
    }
    await this.store.cameras.delete(id);
    await this.store.snapshots.delete(id);
    this.log.info({ camera: id }, 'camera removed');
    this.changed();
    return { ok: true };
  }

  /** Called after every change, in this process. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (e) {
        this.log.error({ err: e }, 'camera change listener failed');
      }
    }
  }
}

/** Hides credentials in an RTSP URL for logs and API views. */
export function redactSource(source: string): string {
  return source.replace(/^(rtsps?:\/\/)([^@/]+)@/i, (_m, scheme: string) => `${scheme}***@`);
}
