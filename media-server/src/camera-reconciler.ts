import type { CameraRecord } from '@chronotrace/contracts';
import type { CameraCatalog, Logger } from '@chronotrace/platform';
import type { IngestService } from './ingest-service';

/** What of a camera's config needs its source restarted when it changes. */
function sourceKey(c: CameraRecord): string {
  return JSON.stringify([c.source, c.fps, c.width, c.enabled]);
}

/**
 * Keeps the ingest's running cameras equal to the catalog: starts added or re-enabled cameras,
 * stops removed or disabled ones, restarts a camera whose source, fps or width changed.
 */
export class CameraReconciler {
  private readonly running = new Map<string, string>();
  private chain: Promise<void> = Promise.resolve();
  private readonly onChange = (list: CameraRecord[]) => {
    this.chain = this.chain.then(() => this.apply(list));
  };

  constructor(
    private readonly catalog: CameraCatalog,
    private readonly ingest: IngestService,
    private readonly log: Logger,
  ) {}

  start(): Promise<void> {
    this.catalog.on('change', this.onChange);
    this.onChange(this.catalog.list());
    return this.chain;
  }

  /** Resolves when every change seen so far has been applied. */
  settled(): Promise<void> {
    return this.chain;
  }

  private async apply(list: CameraRecord[]): Promise<void> {
    const wanted = new Map(list.filter((c) => c.enabled).map((c) => [c.id, c]));
    for (const [id, key] of this.running) {
      const next = wanted.get(id);
      if (!next || sourceKey(next) !== key) {
        await this.ingest.removeCamera(id);
        this.running.delete(id);
        this.log.info({ camera: id }, next ? 'camera source changed: restarting' : 'camera stopped');
      }
    }
    for (const [id, cam] of wanted) {
      if (this.running.has(id)) continue;
      const r = this.ingest.addCamera(cam);
      if (r.ok) this.running.set(id, sourceKey(cam));
      else if (r.reason !== 'closed') this.log.error({ camera: id, reason: r.reason, detail: r.detail }, 'camera not started');
    }
  }

  close(): void {
    this.catalog.off('change', this.onChange);
  }
}
