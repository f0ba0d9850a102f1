import type { PrivacySettings, StageStats } from '@chronotrace/contracts';
import { StageStatsPublisher, createLogger, type Bus, type CameraCatalog, type Logger, type Store } from '@chronotrace/platform';
import type { FaceModel } from './face-detector.protocol';
import { FaceDetector } from './face-detector';
import { TextRegionDetector } from './text-region-detector';
import { PrivacyCore } from './privacy-core';
import { PrivacyStage } from './privacy-stage';

/** Settings for a camera the catalog does not know (yet): hide everything. */
export const STRICTEST_PRIVACY: PrivacySettings = { faces: true, plates: true, method: 'pixelate', margin: 0.15 };

export interface PrivacyServiceOptions {
  bus: Bus;
  store: Store;
  /** Camera list, for per-camera privacy settings. */
  catalog: CameraCatalog;
  /** Replica id of this process, for stage stats. */
  instance: string;
  /** Default 'ssd_mobilenetv1'. */
  faceModel?: FaceModel;
  /** Stages in this process, each with its own face-model worker thread. Default 1. */
  replicas?: number;
  logger?: Logger;
}

/**
 * The privacy boundary as a service: `replicas` PrivacyStages on the shared durable, their
 * per-camera counters published on the bus for camera health. Used by embedded mode and by the
 * distributed privacy process alike.
 */
export class PrivacyService {
  readonly stages: PrivacyStage[] = [];
  private readonly publisher: StageStatsPublisher;
  private closing: Promise<void> | undefined;

  constructor(private readonly o: PrivacyServiceOptions) {
    const log = o.logger ?? createLogger('privacy');
    for (let i = 0; i < (o.replicas ?? 1); i++) {
      const core = new PrivacyCore({
        face: new FaceDetector({ model: o.faceModel ?? 'ssd_mobilenetv1', logger: log.child({ replica: i }) }),
        text: new TextRegionDetector({ logger: log.child({ replica: i }) }),
        logger: log.child({ replica: i }),
      });
      this.stages.push(
        new PrivacyStage({
          bus: o.bus,
          redactions: o.store.redactions,
          core,
          settingsFor: (camera) => o.catalog.get(camera)?.privacy ?? STRICTEST_PRIVACY,
          logger: log.child({ replica: i }),
        }),
      );
    }
    this.publisher = new StageStatsPublisher(o.bus, 'privacy', o.instance, () => this.counters(), log);
  }

  async start(): Promise<void> {
    await Promise.all(this.stages.map((s) => s.start()));
    this.publisher.start();
  }

  /** Counters of all replicas in this process, summed per camera. */
  counters(): StageStats['cameras'] {
    const out: StageStats['cameras'] = {};
    for (const s of this.stages) {
      for (const [camera, c] of Object.entries(s.stageCounters())) {
        const t = (out[camera] ??= { processed: 0, skipped: 0, failures: 0 });
        t.processed += c.processed;
        t.skipped += c.skipped;
        t.failures += c.failures;
      }
    }
    return out;
  }

  toJSON(): { replicas: number; stages: ReturnType<PrivacyStage['stats']>[] } {
    return { replicas: this.stages.length, stages: this.stages.map((s) => s.stats()) };
  }

  /** Drains every stage (in-flight frames finish), then publishes the final counters. Idempotent. */
  close(): Promise<void> {
    this.closing ??= Promise.all(this.stages.map((s) => s.close())).then(() => this.publisher.close());
    return this.closing;
  }
}
