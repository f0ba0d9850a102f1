/**
 * The tfjs → ONNX converter against tfjs itself: each graph model the product uses is converted, run on
 * onnxruntime-node and on tfjs (WASM backend) on the same real frames, and every output must agree.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type * as Tfc from '@tensorflow/tfjs-core';
import type * as TfConverter from '@tensorflow/tfjs-converter';
import type * as TfWasm from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelConversionError } from '../../src/inference/errors';
import { convertedModel, humanModelsDir } from '../../src/inference/onnx-models';
import { readTfjsGraphModel, type TfjsGraphModel } from '../../src/inference/tfjs-graph';
import { convertTfjsToOnnx } from '../../src/inference/tfjs-to-onnx';
import { fixture } from '../privacy/face-eval-set';

const require = createRequire(import.meta.url);
let tf: typeof Tfc;
let converter: typeof TfConverter;

beforeAll(async () => {
  tf = require('@tensorflow/tfjs-core') as typeof Tfc;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof TfWasm;
  converter = require('@tensorflow/tfjs-converter') as typeof TfConverter;
  wasm.setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`, false);
  expect(await tf.setBackend('wasm')).toBe(true);
  await tf.ready();
});

/** The same model loaded by tfjs from disk (no fetch). */
async function tfjsModel(name: string): Promise<TfConverter.GraphModel> {
  const dir = humanModelsDir();
  const json = JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: Tfc.io.WeightsManifestEntry[] }[] };
  const all = Buffer.concat(await Promise.all(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFile(join(dir, p))))));
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return converter.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData }));
}

/** A real photo as the model's input tensor (values in the model's usual range), NHWC or NCHW. */
async function input(file: string, shape: number[]): Promise<Float32Array> {
  const nchw = shape[1] === 3;
  const [h, w] = nchw ? [shape[2] as number, shape[3] as number] : [shape[1] as number, shape[2] as number];
  const rgb = await sharp(await fixture(file)).removeAlpha().resize(w, h, { fit: 'fill' }).raw().toBuffer();
  const out = new Float32Array(3 * w * h);
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) out[nchw ? c * w * h + i : i * 3 + c] = (rgb[i * 3 + c] as number) / 127.5 - 1;
  return out;
}

describe.each(['nanodet', 'blazeface-back', 'blazeface-front'])('converting %s', (name) => {
  let graph: TfjsGraphModel;
  let net: TfConverter.GraphModel;
  beforeAll(async () => {
    graph = await readTfjsGraphModel(humanModelsDir(), name);
    net = await tfjsModel(name);
  });
  afterAll(() => net.dispose());

  it('gives every output of the tfjs model within 1e-5 of its range, on two different photos', async () => {
    const model = convertTfjsToOnnx(graph);
    const session = await ort.InferenceSession.create(model.bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
    try {
      for (const file of ['street.jpg', 'astronaut.jpg']) {
        const x = await input(file, model.input.shape);
        const onnxOut = await session.run({ [model.input.name]: new ort.Tensor('float32', x, model.input.shape) });
        const t = tf.tensor(x, model.input.shape);
        const names = model.outputs.map((o) => o.name);
        const tfOut = net.execute(t, names) as Tfc.Tensor[];
        try {
          for (let i = 0; i < names.length; i++) {
            const a = onnxOut[names[i] as string]?.data as Float32Array;
            const b = (await (tfOut[i] as Tfc.Tensor).data()) as Float32Array;
            expect(a.length, `${names[i]} size`).toBe(b.length);
            let range = 0;
            let diff = 0;
            for (let j = 0; j < b.length; j++) {
              range = Math.max(range, Math.abs(b[j] as number));
              diff = Math.max(diff, Math.abs((a[j] as number) - (b[j] as number)));
            }
            expect(range, `${names[i]} is not all zeros`).toBeGreaterThan(0);
            expect(diff / range, `${file} ${names[i]}: max |onnx − tfjs| ${diff} over range ${range}`).toBeLessThanOrEqual(1e-5);
          }
        } finally {
          t.dispose();
          tf.dispose(tfOut);
        }
      }
    } finally {
      await session.release();
    }
  });
});

describe('convertedModel (the cache under DATA_DIR/models)', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chronotrace-models-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('converts once, keyed by the source model hash, then loads the cached file', async () => {
    const first = await convertedModel({ dir: humanModelsDir(), name: 'blazeface-front', cacheDir: dir });
    expect(first.converted).toBe(true);
    expect(first.path).toContain(first.sourceSha256.slice(0, 16));
    const second = await convertedModel({ dir: humanModelsDir(), name: 'blazeface-front', cacheDir: dir });
    expect(second).toMatchObject({ converted: false, path: first.path, sourceSha256: first.sourceSha256 });
    expect((await stat(first.path)).size).toBeGreaterThan(100_000);
    const session = await ort.InferenceSession.create(first.path);
    expect(session.inputNames).toEqual(['input']);
    await session.release();
  });

  it('names a missing model clearly', async () => {
    await expect(convertedModel({ dir: humanModelsDir(), name: 'no-such-model', cacheDir: dir })).rejects.toThrow(/no-such-model: cannot read/);
  });
});

describe('conversion errors', () => {
  const tiny = (op: string): TfjsGraphModel => ({
    name: 'tiny',
    nodes: [
      { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '1' }, { size: '4' }] } } } },
      { name: 'y', op, input: ['x'] },
    ],
    weights: new Map(),
    signatureOutputs: ['y:0'],
    sha256: '0',
  });

  it('names the op and the node it cannot convert', () => {
    expect(() => convertTfjsToOnnx(tiny('Erf'))).toThrow(ModelConversionError);
    expect(() => convertTfjsToOnnx(tiny('Erf'))).toThrow(/y \(Erf\): op Erf is not supported/);
  });

  it('converts a supported op of a hand-made graph, and refuses an input shape left open', async () => {
    const model = convertTfjsToOnnx(tiny('Sigmoid'));
    const session = await ort.InferenceSession.create(model.bytes);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(-2, 0, 1, 3), [1, 4]) });
    expect(Array.from(out.y?.data as Float32Array).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([0.1192, 0.5, 0.7311, 0.9526]);
    const open = tiny('Sigmoid');
    (open.nodes[0] as { attr: object }).attr = { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '4' }] } } };
    expect(() => convertTfjsToOnnx(open)).toThrow(/not fixed: pass inputShape/);
    expect(convertTfjsToOnnx(open, { inputShape: [2, 4] }).input.shape).toEqual([2, 4]);
  });
});
