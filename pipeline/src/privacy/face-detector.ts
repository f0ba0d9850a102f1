import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Box, ModelVersion } from '@chronotrace/contracts';
import { createLogger, type Logger } from '@chronotrace/platform';
import type { FaceDetectParams, FaceModel, FaceWorkerData, FaceWorkerResponse } from './face-detector.protocol';
import { ModelWorker } from './model-worker';
import type { Detection, PrivacyDetector } from './privacy-detector';

const require = createRequire(import.meta.url);

/**
 * Face model. Measured on pipeline/test/privacy/face-eval-set.ts (3 close-ups + 3 faces at each of
 * 16–96 px in 640×480 street frames, one core, wasm): SSD MobileNet v1 at score ≥ 0.3 found 26/30 faces
 * (every face ≥ 28 px, 0 false positives) in ≈ 285 ms/frame; tiny_face_detector found 8/30 at input 416
 * (76 ms), 14/30 at 608 (152 ms), 19/30 at 800 (390 ms) — it misses faces under ~48 px. Privacy first:
 * SSD by default; choose tiny_face_detector where latency matters more than distant faces.
 */
export const DEFAULT_FACE_MODEL: FaceModel = 'ssd_mobilenetv1';
/** tiny_face_detector input size (a multiple of 32); unused by SSD, which always works at 512×512. */
export const DEFAULT_FACE_INPUT_SIZE = 608;
/** Score threshold: 0.3 kept every true face SSD found at 0.2 but one, with no false positives (0.2: 8). */
export const DEFAULT_FACE_SCORE_THRESHOLD = 0.3;
/** Tiles: tiny 416 + 2×2 tiles found 16/30 (370 ms), + 3×3 21/30 (860 ms): SSD on the whole frame beats both. */
export const DEFAULT_FACE_GRID = 1;
/** Model loading (wasm init + weights) must finish within this. */
export const DEFAULT_FACE_START_TIMEOUT_MS = 60_000;
/** A single request taking this long means the worker is stuck: it is terminated and restarted. */
export const DEFAULT_FACE_HANG_MS = 20_000;

export interface FaceDetectorOptions {
  /** Which face-api model. Default DEFAULT_FACE_MODEL ('ssd_mobilenetv1': best recall on small faces; tiny 416 is ≈4× faster). */
  model?: FaceModel;
  /** tiny_face_detector input size, a multiple of 32. Default DEFAULT_FACE_INPUT_SIZE (608). */
  inputSize?: number;
  /** Also run on grid×grid overlapping tiles to find small faces (cost ×(1+grid²)). Default DEFAULT_FACE_GRID. */
  grid?: number;
  /** Minimum detection score. Default DEFAULT_FACE_SCORE_THRESHOLD (0.3). */
  scoreThreshold?: number;
  /** Folder with the face-api weights. Default: the `model/` folder of the installed @vladmandic/face-api. */
  modelDir?: string;
  /** Default DEFAULT_FACE_START_TIMEOUT_MS. */
  startTimeoutMs?: number;
  /** Default DEFAULT_FACE_HANG_MS. */
  hangMs?: number;
  logger?: Logger;
}

/**
 * The worker's source is TypeScript. `execArgv: ['--import', 'tsx']` is not enough on Node 20 (module
 * hooks registered by --import do not reach the worker's entry), so a one-line bootstrap registers tsx
 * (tsx/esm/api `register()`) and then imports the worker. Works under `node --import tsx` and under vitest.
 * Shared with the object detector (pipeline/src/detect).
 */
export function workerBootstrap(entry: URL): string {
  // tsx/esm/api resolves to its CommonJS build under require(); the worker imports the ESM one next to it.
  const api = JSON.stringify(pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href);
  return `import(${api}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
}

export function defaultFaceModelDir(): string {
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

/** The tfjs-backend-wasm `dist/` folder, for setWasmPaths (shared with the object detector). */
export function defaultWasmDir(): string {
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
}

/**
 * Finds faces with @vladmandic/face-api on tfjs WASM in a worker thread. The worker decodes the JPEG
 * itself (sharp), so only compressed bytes cross the thread boundary. Restarted after a crash or hang.
 */
export class FaceDetector implements PrivacyDetector {
  readonly name = 'face';
  private readonly params: FaceDetectParams;
  private readonly worker: ModelWorker<FaceDetectParams, Box, Extract<FaceWorkerResponse, { type: 'ready' }>>;
  private versions: ModelVersion[] = [];

  constructor(options: FaceDetectorOptions = {}) {
    const model = options.model ?? DEFAULT_FACE_MODEL;
    const inputSize = options.inputSize ?? DEFAULT_FACE_INPUT_SIZE;
    if (!Number.isInteger(inputSize) || inputSize % 32 !== 0 || inputSize < 128) throw new RangeError(`inputSize must be a multiple of 32 ≥ 128, got ${inputSize}`);
    const scoreThreshold = options.scoreThreshold ?? DEFAULT_FACE_SCORE_THRESHOLD;
    if (!(scoreThreshold > 0 && scoreThreshold < 1)) throw new RangeError(`scoreThreshold must be in (0, 1), got ${scoreThreshold}`);
    const grid = options.grid ?? DEFAULT_FACE_GRID;
    if (!Number.isInteger(grid) || grid < 1 || grid > 4) throw new RangeError(`grid must be an integer 1..4, got ${grid}`);
    this.params = { model, inputSize, scoreThreshold, grid };
    const log = options.logger ?? createLogger('face-detector');
    const workerData: FaceWorkerData = { modelDir: options.modelDir ?? defaultFaceModelDir(), wasmDir: defaultWasmDir(), models: [model] };
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
        log.info({ models: m.versions, backend: m.backend, params: this.params }, 'face detector ready');
      },
    });
  }

  get models(): readonly ModelVersion[] {
    return this.versions;
  }

  /** The effective parameters (model, input size, threshold). */
  get settings(): Readonly<FaceDetectParams> {
    return this.params;
  }

  /** Workers started after the first (crash or hang). */
  get restarts(): number {
    return this.worker.restarts;
  }

  start(): Promise<void> {
    return this.worker.start();
  }

  async detect(jpeg: Uint8Array): Promise<Detection> {
    const r = await this.worker.request(jpeg, this.params);
    return { boxes: r.boxes, ms: r.ms };
  }

  close(): Promise<void> {
    return this.worker.close();
  }

  toJSON(): { params: FaceDetectParams; models: readonly ModelVersion[]; restarts: number; inFlight: number } {
    return { params: this.params, models: this.versions, restarts: this.worker.restarts, inFlight: this.worker.inFlight };
  }
}
