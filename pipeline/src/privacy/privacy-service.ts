import type { PrivacySettings, StageStats } from '@chronotrace/contracts';
import { StageStatsPublisher, createLogger, type Bus, type CameraCatalog, type Logger, type Store } from '@chronotrace/platform';
import type { FaceModel } from './face-detector.protocol';
import { ObjectDetector } from '../detect/object-detector';
import { FaceDetector } from './face-detector';
import { PerceptionMemory } from './perception-memory';
import { TextRegionDetector } from './text-region-detector';
import { PrivacyCore } from './privacy-core';
import { PrivacyStage } from './privacy-stage';
import { PrivacyCorePool } from './privacy-core-pool';
import { CameraOwnership } from './camera-ownership';

/** Settings for a camera the catalog does not know (yet): hide everything. */
export const STRICTEST_PRIVACY: PrivacySettings = { faces: true, plates: true, heads: true, method: 'pixelate', margin: 0.15 };

export interface PrivacyServiceOptions {
  bus: Bus;
  store: Store;
  /** Camera list, for per-camera privacy settings. */
  catalog: CameraCatalog;
  /** Replica id of this process, for stage stats. */
  instance: string;
  /** Default 'blazeface'. */
  faceModel?: FaceModel;
  /** Where converted (tfjs → ONNX) models are cached; the composition roots give DATA_DIR/models. Default DEFAULT_MODEL_CACHE_DIR. */
  modelCacheDir?: string;
  /** PrivacyCores in this process's stage, each with its own face-model worker thread. Default 1. */
  replicas?: number;
  /** Person/object detection in the boundary (one object-model thread per core), motion-gated. Default true. */
  objectDetection?: boolean;
  /**
   * Partition cameras among the privacy processes (leases in the store): each camera is redacted by one
   * process at a time, which holds its perception state; a dead process's cameras are taken over.
   * Distributed mode uses it; embedded mode has one process and one shared consumer. Default false.
   */
  partitioned?: boolean;
  /** Lease lifetime when partitioned (takeover time of a dead process's cameras). Default 6 000 ms. */
  leaseTtlMs?: number;
  logger?: Logger;
}

/**
 * The privacy boundary as a service: one PrivacyStage on the shared durable with a pool of
 * `replicas` PrivacyCores (each with its face, text and object model threads), its per-camera counters published on the
 * bus for camera health. Scale further with more processes: they share the durable. Used by embedded mode and by the
 * distributed privacy process alike.
 */
export class PrivacyService {
  readonly stage: PrivacyStage;
  /** Motion gates and last object detections per camera, shared by the cores. */
  readonly perception = new PerceptionMemory();
  private readonly publisher: StageStatsPublisher;
  /** Which cameras this process redacts (partitioned mode). */
  readonly ownership: CameraOwnership | null;
  private closing: Promise<void> | undefined;

  constructor(private readonly o: PrivacyServiceOptions) {
    const log = o.logger ?? createLogger('privacy');
    const cache = o.modelCacheDir === undefined ? {} : { cacheDir: o.modelCacheDir };
    const cores = Array.from({ length: o.replicas ?? 1 }, (_, i) => {
      const l = log.child({ core: i });
      return new PrivacyCore({
        face: new FaceDetector({ model: o.faceModel ?? 'blazeface', ...cache, logger: l }),
        text: new TextRegionDetector({ logger: l }),
        ...(o.objectDetection === false ? {} : { objects: new ObjectDetector({ ...cache, logger: l }), memory: this.perception }),
        logger: l,
      });
    });
    this.stage = new PrivacyStage({
      bus: o.bus,
      redactions: o.store.redactions,
      core: new PrivacyCorePool(cores),
      settingsFor: (camera) => o.catalog.get(camera)?.privacy ?? STRICTEST_PRIVACY,
      analysisFpsFor: (camera) => o.catalog.get(camera)?.analysisFps,
      // An upload's first frames may come before the catalog has its camera: its id says what it is.
      recordedFor: (camera) => {
        const c = o.catalog.get(camera);
        return c ? c.origin === 'upload' : camera.startsWith('upload-');
      },
      partitioned: o.partitioned ?? false,
      logger: log,
    });
    const stage = this.stage;
    this.ownership = o.partitioned
      ? new CameraOwnership({
          leases: o.store.leases,
          instance: o.instance,
          cameras: () => o.catalog.list().filter((c) => c.enabled !== false).map((c) => c.id),
          onChange: (owned) => stage.own(owned),
          log: log.child({ component: 'ownership' }),
          ...(o.leaseTtlMs !== undefined ? { ttlMs: o.leaseTtlMs } : {}),
        })
      : null;
    this.publisher = new StageStatsPublisher(o.bus, 'privacy', o.instance, () => this.counters(), log);
  }

  async start(): Promise<void> {
    await this.stage.start();
    await this.ownership?.start();
    this.publisher.start();
  }

  /** Per-camera counters of this process's stage. */
  counters(): StageStats['cameras'] {
    return this.stage.stageCounters();
  }

  toJSON(): { replicas: number; stages: ReturnType<PrivacyStage['stats']>[]; perception: ReturnType<PerceptionMemory['toJSON']> } {
    return { replicas: this.o.replicas ?? 1, stages: [this.stage.stats()], perception: this.perception.toJSON() };
  }

  /** Drains every stage (in-flight frames finish), then publishes the final counters. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // Hand the cameras over at once (their frames started here finish first).
      await this.ownership?.close();
      await this.stage.close();
      await this.publisher.close();
    })();
    return this.closing;
  }
}
