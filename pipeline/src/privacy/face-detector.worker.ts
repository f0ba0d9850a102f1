/**
 * Worker thread that owns the face models (face-api on tfjs-core + the WASM backend), so inference
 * never blocks the event loop of the process that moves frames. Started by FaceDetector.
 */
import Module, { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type * as FaceApi from '@vladmandic/face-api';
import type * as Tfc from '@tensorflow/tfjs-core';
import type * as TfWasm from '@tensorflow/tfjs-backend-wasm';
import type SharpModule from 'sharp';
import type { Box, ModelVersion } from '@chronotrace/contracts';
import { registerChainedOps } from './tfjs-chained-ops';
import type { FaceDetectParams, FaceWorkerData, FaceWorkerRequest, FaceWorkerResponse } from './face-detector.protocol';

const require = createRequire(import.meta.url);
const port = parentPort;
if (!port) throw new Error('face-detector.worker must run in a worker thread');

/** face-api's node build asks for the umbrella `@tensorflow/tfjs`; tfjs-core (+ registerChainedOps) is all it uses. */
function aliasUmbrellaTfjs(): void {
  type Resolve = (request: string, ...rest: unknown[]) => string;
  const mod = Module as unknown as { _resolveFilename: Resolve };
  const original = mod._resolveFilename;
  mod._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
    return original.call(this, request === '@tensorflow/tfjs' ? '@tensorflow/tfjs-core' : request, ...rest);
  };
}

interface Loaded {
  faceapi: typeof FaceApi;
  tf: typeof Tfc;
  sharp: typeof SharpModule;
}

async function load(data: FaceWorkerData): Promise<{ loaded: Loaded; versions: ModelVersion[]; backend: string }> {
  aliasUmbrellaTfjs();
  const tf = require('@tensorflow/tfjs-core') as typeof Tfc;
  registerChainedOps(tf);
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof TfWasm;
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as typeof FaceApi;
  const sharp = require('sharp') as typeof SharpModule;
  // usePlatformFetch=false: emscripten reads the .wasm file with fs (Node's fetch cannot read paths).
  wasm.setWasmPaths(data.wasmDir.endsWith('/') ? data.wasmDir : `${data.wasmDir}/`, false);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed to initialise');
  await tf.ready();
  const versions: ModelVersion[] = [];
  for (const model of data.models) {
    const net = model === 'tiny_face_detector' ? faceapi.nets.tinyFaceDetector : faceapi.nets.ssdMobilenetv1;
    await net.loadFromDisk(data.modelDir);
    versions.push({ name: `@vladmandic/face-api/${model}`, version: faceapi.version });
  }
  return { loaded: { faceapi, tf, sharp }, versions, backend: `tfjs-core ${tf.version_core} ${tf.getBackend()}` };
}

async function detect(l: Loaded, jpeg: Uint8Array, p: FaceDetectParams): Promise<Extract<FaceWorkerResponse, { ok: true }>> {
  const t0 = performance.now();
  const { data, info } = await l.sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const t1 = performance.now();
  const input = l.tf.tensor3d(data, [info.height, info.width, 3], 'int32');
  try {
    const options =
      p.model === 'tiny_face_detector'
        ? new l.faceapi.TinyFaceDetectorOptions({ inputSize: p.inputSize, scoreThreshold: p.scoreThreshold })
        : new l.faceapi.SsdMobilenetv1Options({ minConfidence: p.scoreThreshold, maxResults: 100 });
    const boxes: Box[] = [];
    for (const tile of tilesOf(info.width, info.height, p.grid)) {
      const part = tile.whole ? input : l.tf.slice(input, [tile.y, tile.x, 0], [tile.h, tile.w, 3]);
      try {
        const found = await l.faceapi.detectAllFaces(part as unknown as FaceApi.TNetInput, options);
        for (const d of found) boxes.push({ x: d.box.x + tile.x, y: d.box.y + tile.y, w: d.box.width, h: d.box.height, score: d.score, label: 'face' });
      } finally {
        if (!tile.whole) part.dispose();
      }
    }
    return { type: 'result', id: 0, ok: true, boxes: mergeOverlapping(boxes), width: info.width, height: info.height, decodeMs: t1 - t0, inferMs: performance.now() - t1 };
  } finally {
    input.dispose();
  }
}

interface Tile {
  x: number;
  y: number;
  w: number;
  h: number;
  whole: boolean;
}

/** The whole frame, then grid×grid tiles overlapping by 25 % so a face on a seam is whole in one of them. */
function tilesOf(width: number, height: number, grid: number): Tile[] {
  const tiles: Tile[] = [{ x: 0, y: 0, w: width, h: height, whole: true }];
  if (grid <= 1) return tiles;
  const tw = Math.ceil((width / grid) * 1.25);
  const th = Math.ceil((height / grid) * 1.25);
  for (let gy = 0; gy < grid; gy++) {
    for (let gx = 0; gx < grid; gx++) {
      const x = Math.min(width - tw, Math.round((gx * (width - tw)) / (grid - 1)));
      const y = Math.min(height - th, Math.round((gy * (height - th)) / (grid - 1)));
      tiles.push({ x: Math.max(0, x), y: Math.max(0, y), w: Math.min(tw, width), h: Math.min(th, height), whole: false });
    }
  }
  return tiles;
}

/** Non-maximum suppression across tiles: keeps the best-scoring of boxes overlapping with IoU > 0.4. */
function mergeOverlapping(boxes: Box[]): Box[] {
  const sorted = [...boxes].sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
  const kept: Box[] = [];
  for (const b of sorted) {
    const dup = kept.some((k) => {
      const ix = Math.max(0, Math.min(k.x + k.w, b.x + b.w) - Math.max(k.x, b.x));
      const iy = Math.max(0, Math.min(k.y + k.h, b.y + b.h) - Math.max(k.y, b.y));
      const inter = ix * iy;
      return inter / (k.w * k.h + b.w * b.h - inter) > 0.4;
    });
    if (!dup) kept.push(b);
  }
  return kept;
}

const post = (m: FaceWorkerResponse): void => port.postMessage(m);

const ready = load(workerData as FaceWorkerData).then(
  (r) => {
    post({ type: 'ready', versions: r.versions, backend: r.backend });
    return r.loaded;
  },
  (e: unknown) => {
    post({ type: 'init-error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    return null;
  },
);

// One frame at a time: the WASM backend is single-threaded, and queueing here keeps memory flat.
let chain: Promise<unknown> = Promise.resolve();
port.on('message', (req: FaceWorkerRequest) => {
  chain = chain.then(async () => {
    const loaded = await ready;
    if (!loaded) return post({ type: 'result', id: req.id, ok: false, message: 'face models failed to load' });
    try {
      post({ ...(await detect(loaded, req.jpeg, req.params)), id: req.id });
    } catch (e) {
      post({ type: 'result', id: req.id, ok: false, message: e instanceof Error ? e.message : String(e) });
    }
  });
});
