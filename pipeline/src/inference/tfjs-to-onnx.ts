import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { ModelConversionError } from './errors';
import { attr, type TfjsGraphModel, type TfNode, type TfTensor } from './tfjs-graph';

/**
 * Converts a TensorFlow.js graph model to an ONNX model (opset 13), so it runs on onnxruntime-node
 * (native, several times faster per FLOP than tfjs on WASM). No such converter exists on npm.
 *
 * How: every shape is static (the input shape is fixed), so constant sub-graphs (shape arithmetic,
 * SparseToDense of empty indices…) are folded here and every output shape is known. tfjs ops are NHWC,
 * ONNX's convolutions NCHW: instead of wrapping each convolution in two transposes, each value carries
 * its physical layout (`plain`, or `nchw` = a logical NHWC tensor stored NCHW). Convolutions, pools and
 * resizes produce `nchw`; element-wise ops keep their input's layout; pads, concats and splits map their
 * axes; a Transpose whose permutation undoes the layout becomes nothing. A transpose is emitted only where
 * an op needs the logical layout (Reshape, the outputs).
 *
 * Supported ops are the ones of the models the product uses (nanodet, BlazeFace) plus their near kin;
 * anything else throws a ModelConversionError naming the op and the node.
 */

export interface ConvertOptions {
  /** Fixed input shape, for a Placeholder whose shape has unknown (-1) dimensions. */
  inputShape?: number[];
  /** Written into the model (producer version, doc string). */
  producerVersion?: string;
}

export interface ConvertedModel {
  /** The serialised ONNX ModelProto. */
  bytes: Uint8Array;
  input: { name: string; shape: number[] };
  outputs: { name: string; shape: number[] }[];
  /** ONNX nodes written (after folding and layout tracking). */
  nodeCount: number;
}

type Layout = 'plain' | 'nchw';
interface Dyn {
  kind: 'dyn';
  /** ONNX value name. */
  name: string;
  /** Logical (TensorFlow) shape. */
  shape: number[];
  layout: Layout;
}
interface Cst {
  kind: 'const';
  t: TfTensor;
}
type Val = Dyn | Cst;

/** Physical = transpose(logical, NCHW): logical NHWC dims [0,3,1,2]. */
const NCHW: readonly number[] = [0, 3, 1, 2];
/** Its inverse. */
const NHWC: readonly number[] = [0, 2, 3, 1];
const IDENTITY4: readonly number[] = [0, 1, 2, 3];

// onnx-proto is CommonJS: its named export exists under vitest's interop but not under Node's ESM loader.
const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
/** transpose(transpose(X, a), b) = transpose(X, c) with c[i] = a[b[i]]. */
const compose = (a: readonly number[], b: readonly number[]): number[] => b.map((i) => a[i] as number);
const permute = <T>(xs: readonly T[], perm: readonly number[]): T[] => perm.map((i) => xs[i] as T);
const layoutPerm = (l: Layout, rank: number): readonly number[] => (l === 'nchw' ? NCHW : Array.from({ length: rank }, (_, i) => i));

/** Transposes a constant's data (row-major) by perm. */
function transposeData(t: TfTensor, perm: readonly number[]): TfTensor {
  const inShape = t.shape;
  const outShape = permute(inShape, perm);
  const rank = inShape.length;
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= inShape[i] as number;
  }
  const n = size(inShape);
  const out = t.data instanceof Float32Array ? new Float32Array(n) : t.data instanceof Int32Array ? new Int32Array(n) : new Uint8Array(n);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let i = 0; i < rank; i++) src += (idx[i] as number) * (inStrides[perm[i] as number] as number);
    out[o] = t.data[src] as number;
    for (let i = rank - 1; i >= 0; i--) {
      idx[i] = (idx[i] as number) + 1;
      if ((idx[i] as number) < (outShape[i] as number)) break;
      idx[i] = 0;
    }
  }
  return { dtype: t.dtype, shape: outShape, data: out };
}

function broadcastShape(a: readonly number[], b: readonly number[], where: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new ModelConversionError(`${where}: shapes [${a}] and [${b}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** TensorFlow's SAME / VALID / EXPLICIT padding → ONNX begin/end pads for the spatial dims (H, W). */
function spatialPads(n: TfNode, inHW: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[]): { pads: number[]; out: number[] } {
  const padding = attr.str(n, 'padding') ?? 'VALID';
  const begin: number[] = [];
  const end: number[] = [];
  const out: number[] = [];
  const explicit = attr.intList(n, 'explicit_paddings');
  for (let d = 0; d < 2; d++) {
    const input = inHW[d] as number;
    const k = ((kernel[d] as number) - 1) * (dilations[d] as number) + 1;
    const s = strides[d] as number;
    if (padding === 'SAME') {
      const o = Math.ceil(input / s);
      const total = Math.max((o - 1) * s + k - input, 0);
      begin.push(Math.floor(total / 2));
      end.push(total - Math.floor(total / 2));
      out.push(o);
    } else if (padding === 'VALID') {
      begin.push(0);
      end.push(0);
      out.push(Math.floor((input - k) / s) + 1);
    } else if (padding === 'EXPLICIT') {
      // explicit_paddings: NHWC pairs [n0,n1,h0,h1,w0,w1,c0,c1].
      const b = explicit[2 + d * 2] ?? 0;
      const e = explicit[3 + d * 2] ?? 0;
      begin.push(b);
      end.push(e);
      out.push(Math.floor((input + b + e - k) / s) + 1);
    } else throw new ModelConversionError(`${n.name} (${n.op}): padding ${padding} is not supported`);
  }
  return { pads: [...begin, ...end], out };
}

class OnnxGraphBuilder {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];
  private readonly used = new Set<string>();

  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}__${i}`;
    this.used.add(name);
    return name;
  }

  node(op: string, inputs: string[], base: string, attributes: Onnx.IAttributeProto[] = [], outputs = 1): string[] {
    const names = Array.from({ length: outputs }, (_, i) => this.fresh(outputs === 1 ? base : `${base}:${i}`));
    this.nodes.push({ opType: op, input: inputs, output: names, name: this.fresh(`${base}/${op}`), attribute: attributes });
    return names;
  }

  floatInit(base: string, t: TfTensor): string {
    const name = this.fresh(base);
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
    this.initializers.push({ name, dims: t.shape, dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  int64Init(base: string, values: readonly number[], dims: number[] = [values.length]): string {
    const name = this.fresh(base);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims, dataType: INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }
}

const A = {
  ints: (name: string, ints: readonly number[]): Onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...ints] }),
  int: (name: string, i: number): Onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i }),
  float: (name: string, f: number): Onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f }),
  str: (name: string, s: string): Onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(s) }),
};

/** Folds element-wise integer/float arithmetic on two constants (same shape or one scalar / broadcast of 1-D). */
function foldBinary(op: string, a: TfTensor, b: TfTensor, where: string): TfTensor {
  const shape = broadcastShape(a.shape, b.shape, where);
  const n = size(shape);
  const float = a.dtype === 'float32' || b.dtype === 'float32';
  const out = float ? new Float32Array(n) : new Int32Array(n);
  const at = (t: TfTensor, i: number): number => (size(t.shape) === 1 ? (t.data[0] as number) : (t.data[i % size(t.shape)] as number));
  if (size(a.shape) !== 1 && size(a.shape) !== n) throw new ModelConversionError(`${where}: cannot fold broadcast of [${a.shape}]`);
  if (size(b.shape) !== 1 && size(b.shape) !== n) throw new ModelConversionError(`${where}: cannot fold broadcast of [${b.shape}]`);
  for (let i = 0; i < n; i++) {
    const x = at(a, i);
    const y = at(b, i);
    out[i] =
      op === 'Sub' ? x - y : op === 'Mul' ? x * y : op === 'RealDiv' ? x / y : op === 'FloorDiv' ? Math.floor(x / y) : op === 'Maximum' ? Math.max(x, y) : op === 'Minimum' ? Math.min(x, y) : x + y;
  }
  return { dtype: float ? 'float32' : 'int32', shape, data: out };
}

const BINARY_ONNX: Record<string, string> = { Add: 'Add', AddV2: 'Add', BiasAdd: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Maximum: 'Max', Minimum: 'Min' };
const UNARY_ONNX: Record<string, string> = { Relu: 'Relu', Sigmoid: 'Sigmoid', Tanh: 'Tanh', Elu: 'Elu', Exp: 'Exp', Neg: 'Neg', Abs: 'Abs', Sqrt: 'Sqrt', Softplus: 'Softplus' };

export class TfjsToOnnxConverter {
  private readonly b = new OnnxGraphBuilder();
  private readonly byName = new Map<string, TfNode>();
  private readonly values = new Map<string, Val[]>();
  private input: { name: string; shape: number[] } | undefined;

  constructor(
    private readonly model: TfjsGraphModel,
    private readonly options: ConvertOptions = {},
  ) {
    for (const n of model.nodes) this.byName.set(n.name, n);
  }

  convert(): ConvertedModel {
    const outputs = this.outputNames();
    // Reserved first: the graph's outputs keep the model's tensor names; inner values get suffixes.
    const outNames = outputs.map((r) => this.b.fresh(r.replace(/:0$/, '')));
    const graphOutputs: { name: string; shape: number[] }[] = [];
    const outInfos: Onnx.IValueInfoProto[] = [];
    for (const [i, ref] of outputs.entries()) {
      const v = this.value(ref);
      if (v.kind !== 'dyn') throw new ModelConversionError(`${this.model.name}: output ${ref} is a constant`);
      const plain = this.toPlain(v);
      const name = outNames[i] as string;
      this.b.nodes.push({ opType: 'Identity', input: [plain.name], output: [name], name: this.b.fresh(`${name}/Identity`) });
      graphOutputs.push({ name, shape: plain.shape });
      outInfos.push(valueInfo(name, plain.shape));
    }
    const input = this.input;
    if (!input) throw new ModelConversionError(`${this.model.name}: the outputs do not depend on any input`);
    const graph: Onnx.IGraphProto = {
      name: this.model.name,
      node: this.b.nodes,
      initializer: this.b.initializers,
      input: [valueInfo(input.name, input.shape)],
      output: outInfos,
    };
    const bytes = onnx.ModelProto.encode(
      onnx.ModelProto.create({
        irVersion: 7,
        producerName: 'chronotrace tfjs-to-onnx',
        producerVersion: this.options.producerVersion ?? '1',
        docString: `converted from the tfjs graph model ${this.model.name} (sha256 ${this.model.sha256})`,
        opsetImport: [{ domain: '', version: 13 }],
        graph,
      }),
    ).finish();
    return { bytes, input, outputs: graphOutputs, nodeCount: this.b.nodes.length };
  }

  /** The model's outputs: its signature's, else the Identity/leaf nodes nothing consumes. */
  private outputNames(): string[] {
    if (this.model.signatureOutputs.length > 0) return this.model.signatureOutputs;
    const consumed = new Set<string>();
    for (const n of this.model.nodes) for (const i of n.input ?? []) consumed.add(ref(i).node);
    const leaves = this.model.nodes.filter((n) => !consumed.has(n.name) && n.op !== 'Const' && n.op !== 'NoOp').map((n) => `${n.name}:0`);
    if (leaves.length === 0) throw new ModelConversionError(`${this.model.name}: no outputs found`);
    return leaves;
  }

  private value(r: string): Val {
    const { node, index } = ref(r);
    let vals = this.values.get(node);
    if (!vals) {
      const n = this.byName.get(node);
      if (!n) throw new ModelConversionError(`${this.model.name}: no node named ${node}`);
      vals = this.convertNode(n);
      this.values.set(node, vals);
    }
    const v = vals[index];
    if (!v) throw new ModelConversionError(`${this.model.name}: node ${node} has no output ${index}`);
    return v;
  }

  private inputs(n: TfNode): Val[] {
    return (n.input ?? []).filter((i) => !i.startsWith('^')).map((i) => this.value(i));
  }

  private cst(n: TfNode, v: Val | undefined, what: string): TfTensor {
    if (!v || v.kind !== 'const') throw new ModelConversionError(`${this.model.name}: ${n.name} (${n.op}): ${what} must be a constant`);
    return v.t;
  }

  private dyn(n: TfNode, v: Val | undefined): Dyn {
    if (!v) throw new ModelConversionError(`${this.model.name}: ${n.name} (${n.op}): missing input`);
    if (v.kind === 'dyn') return v;
    // A constant fed to a computing op becomes an initializer.
    if (v.t.dtype !== 'float32') throw new ModelConversionError(`${this.model.name}: ${n.name} (${n.op}): integer tensors are only supported as constants`);
    return { kind: 'dyn', name: this.b.floatInit(`${n.name}/const`, v.t), shape: v.t.shape, layout: 'plain' };
  }

  private toPlain(v: Dyn): Dyn {
    if (v.layout === 'plain') return v;
    const [name] = this.b.node('Transpose', [v.name], `${v.name}/nhwc`, [A.ints('perm', NHWC)]);
    return { kind: 'dyn', name: name as string, shape: v.shape, layout: 'plain' };
  }

  private toNchw(v: Dyn, where: string): Dyn {
    if (v.shape.length !== 4) throw new ModelConversionError(`${where}: expected a 4-D NHWC input, got [${v.shape}]`);
    if (v.layout === 'nchw') return v;
    const [name] = this.b.node('Transpose', [v.name], `${v.name}/nchw`, [A.ints('perm', NCHW)]);
    return { kind: 'dyn', name: name as string, shape: v.shape, layout: 'nchw' };
  }

  private out(name: string, shape: number[], layout: Layout): Dyn {
    return { kind: 'dyn', name, shape, layout };
  }

  private convertNode(n: TfNode): Val[] {
    const where = `${this.model.name}: ${n.name} (${n.op})`;
    switch (n.op) {
      case 'Const': {
        const t = this.model.weights.get(n.name);
        if (!t) throw new ModelConversionError(`${where}: no weight in the manifest`);
        return [{ kind: 'const', t }];
      }
      case 'Placeholder': {
        if (this.input) throw new ModelConversionError(`${where}: models with more than one input are not supported`);
        if (attr.type(n, 'dtype') !== 'DT_FLOAT') throw new ModelConversionError(`${where}: only float32 inputs are supported`);
        const declared = attr.shape(n, 'shape');
        const shape = this.options.inputShape ?? declared;
        if (!shape || shape.some((d) => !(d > 0))) throw new ModelConversionError(`${where}: input shape [${declared ?? '?'}] is not fixed: pass inputShape`);
        if (declared && (declared.length !== shape.length || declared.some((d, i) => d > 0 && d !== shape[i]))) {
          throw new ModelConversionError(`${where}: inputShape [${shape}] does not fit the declared [${declared}]`);
        }
        this.input = { name: n.name, shape };
        this.b.fresh(n.name);
        return [this.out(n.name, shape, 'plain')];
      }
      case 'Identity':
      case 'StopGradient':
        return [this.inputs(n)[0] as Val];
      case 'Conv2D':
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative':
        return [this.conv(n, where)];
      case 'MaxPool':
      case 'AvgPool':
        return [this.pool(n, where)];
      case 'Relu6': {
        const x = this.dyn(n, this.inputs(n)[0]);
        const [y] = this.b.node('Clip', [x.name, this.b.floatInit(`${n.name}/min`, scalar(0)), this.b.floatInit(`${n.name}/max`, scalar(6))], n.name);
        return [this.out(y as string, x.shape, x.layout)];
      }
      case 'LeakyRelu': {
        const x = this.dyn(n, this.inputs(n)[0]);
        const [y] = this.b.node('LeakyRelu', [x.name], n.name, [A.float('alpha', attr.float(n, 'alpha') ?? 0.2)]);
        return [this.out(y as string, x.shape, x.layout)];
      }
      case 'Rsqrt': {
        const x = this.dyn(n, this.inputs(n)[0]);
        const [s] = this.b.node('Sqrt', [x.name], `${n.name}/sqrt`);
        const [y] = this.b.node('Reciprocal', [s as string], n.name);
        return [this.out(y as string, x.shape, x.layout)];
      }
      case 'Square': {
        const x = this.dyn(n, this.inputs(n)[0]);
        const [y] = this.b.node('Mul', [x.name, x.name], n.name);
        return [this.out(y as string, x.shape, x.layout)];
      }
      case 'Transpose':
        return [this.transpose(n, where)];
      case 'Pad':
      case 'PadV2':
      case 'MirrorPad':
        return [this.pad(n, where)];
      case 'Reshape':
        return [this.reshape(n, where)];
      case 'ConcatV2':
        return [this.concat(n, where)];
      case 'SplitV':
      case 'Split':
        return this.split(n, where);
      case 'ResizeBilinear':
      case 'ResizeNearestNeighbor':
        return [this.resize(n, where)];
      case 'DepthToSpace': {
        const block = attr.int(n, 'block_size') ?? 0;
        const x = this.toNchw(this.dyn(n, this.inputs(n)[0]), where);
        const [nn, h, w, c] = x.shape as [number, number, number, number];
        if (!(block > 1) || c % (block * block) !== 0) throw new ModelConversionError(`${where}: block_size ${block} does not divide ${c} channels`);
        const [y] = this.b.node('DepthToSpace', [x.name], n.name, [A.int('blocksize', block), A.str('mode', 'DCR')]);
        return [this.out(y as string, [nn, h * block, w * block, c / (block * block)], 'nchw')];
      }
      case 'Shape': {
        const v = this.inputs(n)[0];
        const shape = v?.kind === 'const' ? v.t.shape : (v as Dyn).shape;
        return [{ kind: 'const', t: { dtype: 'int32', shape: [shape.length], data: Int32Array.from(shape) } }];
      }
      case 'Cast': {
        const v = this.inputs(n)[0];
        const to = attr.type(n, 'DstT');
        if (v?.kind !== 'const') throw new ModelConversionError(`${where}: only constant casts are supported`);
        const data = to === 'DT_FLOAT' ? Float32Array.from(v.t.data) : Int32Array.from(v.t.data, (x) => Math.trunc(x));
        return [{ kind: 'const', t: { dtype: to === 'DT_FLOAT' ? 'float32' : 'int32', shape: v.t.shape, data } }];
      }
      case 'Pack': {
        const parts = this.inputs(n).map((v) => this.cst(n, v, 'every input'));
        if (parts.some((p) => size(p.shape) !== 1)) throw new ModelConversionError(`${where}: only packing scalars is supported`);
        const float = parts.some((p) => p.dtype === 'float32');
        const data = float ? Float32Array.from(parts.map((p) => p.data[0] as number)) : Int32Array.from(parts.map((p) => p.data[0] as number));
        return [{ kind: 'const', t: { dtype: float ? 'float32' : 'int32', shape: [parts.length], data } }];
      }
      case 'StridedSlice':
        return [this.stridedSlice(n, where)];
      case 'SparseToDense': {
        const [indices, outShape, values, fill] = this.inputs(n).map((v) => this.cst(n, v, 'every input'));
        if (!indices || !outShape || !values || !fill) throw new ModelConversionError(`${where}: needs 4 inputs`);
        const shape = Array.from(outShape.data, Number);
        if (shape.length !== 1) throw new ModelConversionError(`${where}: only 1-D outputs are supported`);
        const data = indices.dtype === 'float32' || fill.dtype === 'float32' ? new Float32Array(size(shape)) : new Int32Array(size(shape));
        data.fill(fill.data[0] as number);
        for (let i = 0; i < size(indices.shape); i++) data[indices.data[i] as number] = (size(values.shape) === 1 ? values.data[0] : values.data[i]) as number;
        return [{ kind: 'const', t: { dtype: data instanceof Float32Array ? 'float32' : 'int32', shape, data } }];
      }
      default:
        if (n.op in BINARY_ONNX || n.op === 'FloorDiv') return [this.binary(n, where)];
        if (n.op in UNARY_ONNX) {
          const x = this.dyn(n, this.inputs(n)[0]);
          const [y] = this.b.node(UNARY_ONNX[n.op] as string, [x.name], n.name);
          return [this.out(y as string, x.shape, x.layout)];
        }
        throw new ModelConversionError(`${where}: op ${n.op} is not supported by the tfjs → ONNX converter`);
    }
  }

  private conv(n: TfNode, where: string): Dyn {
    if ((attr.str(n, 'data_format') ?? 'NHWC') !== 'NHWC') throw new ModelConversionError(`${where}: only NHWC convolutions are supported`);
    const ins = this.inputs(n);
    const x = this.toNchw(this.dyn(n, ins[0]), where);
    const filter = this.cst(n, ins[1], 'the filter');
    const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
    const depthwise = n.op.includes('Depthwise');
    const [, h, w, c] = x.shape as [number, number, number, number];
    if (ci !== c && !(depthwise && ci === c)) throw new ModelConversionError(`${where}: filter [${filter.shape}] does not fit input [${x.shape}]`);
    // HWIO → OIHW; depthwise HW C M → (C·M) 1 H W.
    const weight = depthwise
      ? { ...transposeData(filter, [2, 3, 0, 1]), shape: [ci * co, 1, kh, kw] }
      : transposeData(filter, [3, 2, 0, 1]);
    const strides = attr.intList(n, 'strides');
    const dilations = attr.intList(n, 'dilations');
    const s = [strides[1] ?? 1, strides[2] ?? 1];
    const d = dilations.length === 4 ? [dilations[1] ?? 1, dilations[2] ?? 1] : [1, 1];
    const { pads, out } = spatialPads(n, [h, w], [kh, kw], s, d);
    const outChannels = depthwise ? ci * co : co;
    const inputs = [x.name, this.b.floatInit(`${n.name}/weight`, weight)];
    const fused = n.op.startsWith('_Fused') || n.op.startsWith('Fused') ? attr.strList(n, 'fused_ops') : [];
    let activation: string | undefined;
    for (const f of fused) {
      if (f === 'BiasAdd') {
        const bias = this.cst(n, ins[2], 'the bias');
        if (size(bias.shape) !== outChannels) throw new ModelConversionError(`${where}: bias [${bias.shape}] for ${outChannels} channels`);
        inputs.push(this.b.floatInit(`${n.name}/bias`, { ...bias, shape: [outChannels] }));
      } else if (['Relu', 'Relu6', 'Prelu', 'LeakyRelu', 'Elu', 'Sigmoid', 'Tanh'].includes(f)) activation = f;
      else throw new ModelConversionError(`${where}: fused op ${f} is not supported`);
    }
    const attrs = [A.ints('kernel_shape', [kh, kw]), A.ints('strides', s), A.ints('dilations', d), A.ints('pads', pads), A.int('group', depthwise ? ci : 1)];
    const [conv] = this.b.node('Conv', inputs, activation ? `${n.name}/conv` : n.name, attrs);
    const shape = [x.shape[0] as number, out[0] as number, out[1] as number, outChannels];
    if (!activation) return this.out(conv as string, shape, 'nchw');
    let y: string;
    if (activation === 'Relu6') {
      [y] = this.b.node('Clip', [conv as string, this.b.floatInit(`${n.name}/min`, scalar(0)), this.b.floatInit(`${n.name}/max`, scalar(6))], n.name) as [string];
    } else if (activation === 'Prelu') {
      const alpha = this.cst(n, ins[3], 'the PReLU alpha');
      [y] = this.b.node('PRelu', [conv as string, this.b.floatInit(`${n.name}/alpha`, { ...alpha, shape: [outChannels, 1, 1] })], n.name) as [string];
    } else if (activation === 'LeakyRelu') {
      [y] = this.b.node('LeakyRelu', [conv as string], n.name, [A.float('alpha', attr.float(n, 'leakyrelu_alpha') ?? 0.2)]) as [string];
    } else [y] = this.b.node(activation, [conv as string], n.name) as [string];
    return this.out(y, shape, 'nchw');
  }

  private pool(n: TfNode, where: string): Dyn {
    if ((attr.str(n, 'data_format') ?? 'NHWC') !== 'NHWC') throw new ModelConversionError(`${where}: only NHWC pools are supported`);
    const x = this.toNchw(this.dyn(n, this.inputs(n)[0]), where);
    const k = attr.intList(n, 'ksize');
    const st = attr.intList(n, 'strides');
    const kernel = [k[1] ?? 1, k[2] ?? 1];
    const s = [st[1] ?? 1, st[2] ?? 1];
    const { pads, out } = spatialPads(n, [x.shape[1] as number, x.shape[2] as number], kernel, s, [1, 1]);
    const attrs = [A.ints('kernel_shape', kernel), A.ints('strides', s), A.ints('pads', pads)];
    // TensorFlow's AvgPool with SAME averages over the valid cells only: count_include_pad = 0 (the default).
    const [y] = this.b.node(n.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [x.name], n.name, attrs);
    return this.out(y as string, [x.shape[0] as number, out[0] as number, out[1] as number, x.shape[3] as number], 'nchw');
  }

  private binary(n: TfNode, where: string): Val {
    const [a, b] = this.inputs(n);
    if (!a || !b) throw new ModelConversionError(`${where}: needs two inputs`);
    if (a.kind === 'const' && b.kind === 'const') return { kind: 'const', t: foldBinary(n.op, a.t, b.t, where) };
    if (n.op === 'FloorDiv') throw new ModelConversionError(`${where}: FloorDiv on computed tensors is not supported`);
    const shape = broadcastShape(a.kind === 'const' ? a.t.shape : a.shape, b.kind === 'const' ? b.t.shape : b.shape, where);
    const nchw = shape.length === 4 && [a, b].some((v) => v.kind === 'dyn' && v.layout === 'nchw' && v.shape.length === 4);
    const operand = (v: Val): string => {
      if (v.kind === 'const') {
        if (v.t.dtype !== 'float32') throw new ModelConversionError(`${where}: integer constants in computed arithmetic are not supported`);
        if (!nchw) return this.b.floatInit(`${n.name}/const`, v.t);
        // Logical NHWC broadcastable constant → rank 4 → stored NCHW.
        const r4 = { ...v.t, shape: [...Array<number>(4 - v.t.shape.length).fill(1), ...v.t.shape] };
        return this.b.floatInit(`${n.name}/const`, transposeData(r4, NCHW));
      }
      if (!nchw) return this.toPlain(v).name;
      if (v.shape.length === 4) return this.toNchw(v, where).name;
      throw new ModelConversionError(`${where}: broadcasting a rank-${v.shape.length} tensor onto an NCHW-stored one is not supported`);
    };
    const [y] = this.b.node(BINARY_ONNX[n.op] as string, [operand(a), operand(b)], n.name);
    return this.out(y as string, shape, nchw ? 'nchw' : 'plain');
  }

  private transpose(n: TfNode, where: string): Val {
    const [xv, pv] = this.inputs(n);
    const p = Array.from(this.cst(n, pv, 'the permutation').data, Number);
    if (xv?.kind === 'const') return { kind: 'const', t: transposeData(xv.t, p) };
    const x = this.dyn(n, xv);
    const rank = x.shape.length;
    if (p.length !== rank) throw new ModelConversionError(`${where}: permutation [${p}] for rank ${rank}`);
    const shape = permute(x.shape, p);
    const q = layoutPerm(x.layout, rank);
    const qinv = x.layout === 'nchw' ? NHWC : q;
    // Physical output for a target layout q' is transpose(physical input, qinv ∘ (p ∘ q')).
    const physical = (target: Layout): number[] => compose(qinv, compose(p, layoutPerm(target, rank)));
    if (rank === 4 && same(physical('nchw'), IDENTITY4)) return this.out(x.name, shape, 'nchw');
    const perm = physical('plain');
    if (same(perm, Array.from({ length: rank }, (_, i) => i))) return this.out(x.name, shape, 'plain');
    const [y] = this.b.node('Transpose', [x.name], n.name, [A.ints('perm', perm)]);
    return this.out(y as string, shape, 'plain');
  }

  private pad(n: TfNode, where: string): Dyn {
    const ins = this.inputs(n);
    const x = this.dyn(n, ins[0]);
    const paddings = this.cst(n, ins[1], 'the paddings');
    const rank = x.shape.length;
    if (!same(paddings.shape, [rank, 2])) throw new ModelConversionError(`${where}: paddings [${paddings.shape}] for rank ${rank}`);
    const q = layoutPerm(x.layout, rank);
    const begin = q.map((axis) => paddings.data[axis * 2] as number);
    const end = q.map((axis) => paddings.data[axis * 2 + 1] as number);
    const inputs = [x.name, this.b.int64Init(`${n.name}/pads`, [...begin, ...end])];
    let mode = 'constant';
    if (n.op === 'PadV2') inputs.push(this.b.floatInit(`${n.name}/value`, { ...this.cst(n, ins[2], 'the pad value'), shape: [] }));
    if (n.op === 'MirrorPad') {
      const m = attr.str(n, 'mode');
      if (m !== 'REFLECT') throw new ModelConversionError(`${where}: MirrorPad mode ${m} is not supported`);
      mode = 'reflect';
    }
    const [y] = this.b.node('Pad', inputs, n.name, [A.str('mode', mode)]);
    const shape = x.shape.map((d, i) => d + (paddings.data[i * 2] as number) + (paddings.data[i * 2 + 1] as number));
    return this.out(y as string, shape, x.layout);
  }

  private reshape(n: TfNode, where: string): Val {
    const [xv, sv] = this.inputs(n);
    const target = Array.from(this.cst(n, sv, 'the shape').data, Number);
    const inShape = xv?.kind === 'const' ? xv.t.shape : (xv as Dyn | undefined)?.shape;
    if (!inShape) throw new ModelConversionError(`${where}: missing input`);
    const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const shape = target.map((d) => (d === -1 ? size(inShape) / known : d));
    if (size(shape) !== size(inShape) || shape.some((d) => !Number.isInteger(d))) throw new ModelConversionError(`${where}: cannot reshape [${inShape}] to [${target}]`);
    if (xv?.kind === 'const') return { kind: 'const', t: { ...xv.t, shape } };
    const x = this.toPlain(this.dyn(n, xv));
    const [y] = this.b.node('Reshape', [x.name, this.b.int64Init(`${n.name}/shape`, shape)], n.name);
    return this.out(y as string, shape, 'plain');
  }

  private concat(n: TfNode, where: string): Val {
    const ins = this.inputs(n);
    const axisT = this.cst(n, ins[ins.length - 1], 'the axis');
    const parts = ins.slice(0, -1);
    const shapeOf = (v: Val): number[] => (v.kind === 'const' ? v.t.shape : v.shape);
    const rank = shapeOf(parts[0] as Val).length;
    const axis = ((axisT.data[0] as number) + rank) % rank;
    const shape = [...shapeOf(parts[0] as Val)];
    shape[axis] = parts.reduce((s, v) => s + (shapeOf(v)[axis] as number), 0);
    if (parts.every((v) => v.kind === 'const')) {
      if (rank !== 1) throw new ModelConversionError(`${where}: only 1-D constant concatenation is folded`);
      const ts = parts.map((v) => (v as Cst).t);
      const float = ts.some((t) => t.dtype === 'float32');
      const all = ts.flatMap((t) => Array.from(t.data, Number));
      return { kind: 'const', t: { dtype: float ? 'float32' : 'int32', shape, data: float ? Float32Array.from(all) : Int32Array.from(all) } };
    }
    const nchw = rank === 4 && parts.every((v) => v.kind === 'dyn' && v.layout === 'nchw');
    const names = parts.map((v) => (nchw ? (v as Dyn).name : this.toPlain(this.dyn(n, v)).name));
    const physAxis = nchw ? NHWC[axis] as number : axis;
    const [y] = this.b.node('Concat', names, n.name, [A.int('axis', physAxis)]);
    return this.out(y as string, shape, nchw ? 'nchw' : 'plain');
  }

  private split(n: TfNode, where: string): Val[] {
    const ins = this.inputs(n);
    const x = this.dyn(n, n.op === 'SplitV' ? ins[0] : ins[1]);
    const rank = x.shape.length;
    const axisT = this.cst(n, n.op === 'SplitV' ? ins[2] : ins[0], 'the split axis');
    const axis = ((axisT.data[0] as number) + rank) % rank;
    const dim = x.shape[axis] as number;
    let sizes: number[];
    if (n.op === 'SplitV') {
      sizes = Array.from(this.cst(n, ins[1], 'the split sizes').data, Number);
      const rest = dim - sizes.filter((s) => s !== -1).reduce((a, b) => a + b, 0);
      sizes = sizes.map((s) => (s === -1 ? rest : s));
    } else {
      const k = attr.int(n, 'num_split') ?? 1;
      if (dim % k !== 0) throw new ModelConversionError(`${where}: ${dim} does not split into ${k}`);
      sizes = Array<number>(k).fill(dim / k);
    }
    if (sizes.reduce((a, b) => a + b, 0) !== dim) throw new ModelConversionError(`${where}: sizes [${sizes}] do not add up to ${dim}`);
    const physAxis = x.layout === 'nchw' ? (NHWC[axis] as number) : axis;
    const outs = this.b.node('Split', [x.name, this.b.int64Init(`${n.name}/split`, sizes)], n.name, [A.int('axis', physAxis)], sizes.length);
    return outs.map((name, i) => {
      const shape = [...x.shape];
      shape[axis] = sizes[i] as number;
      return this.out(name, shape, x.layout);
    });
  }

  private resize(n: TfNode, where: string): Dyn {
    const ins = this.inputs(n);
    const x = this.toNchw(this.dyn(n, ins[0]), where);
    const sz = Array.from(this.cst(n, ins[1], 'the size').data, Number);
    const [nn, , , c] = x.shape as [number, number, number, number];
    const align = attr.bool(n, 'align_corners');
    const half = attr.bool(n, 'half_pixel_centers');
    const bilinear = n.op === 'ResizeBilinear';
    const attrs = [
      A.str('mode', bilinear ? 'linear' : 'nearest'),
      A.str('coordinate_transformation_mode', align ? 'align_corners' : half ? (bilinear ? 'half_pixel' : 'tf_half_pixel_for_nn') : 'asymmetric'),
    ];
    if (!bilinear) attrs.push(A.str('nearest_mode', align ? 'round_prefer_ceil' : 'floor'));
    const sizes = this.b.int64Init(`${n.name}/sizes`, [nn, c, sz[0] as number, sz[1] as number]);
    const [y] = this.b.node('Resize', [x.name, '', '', sizes], n.name, attrs);
    return this.out(y as string, [nn, sz[0] as number, sz[1] as number, c], 'nchw');
  }

  /** StridedSlice on a 1-D constant (shape arithmetic), with begin/end/shrink masks. */
  private stridedSlice(n: TfNode, where: string): Val {
    const [xv, bv, ev, sv] = this.inputs(n);
    if (xv?.kind !== 'const' || xv.t.shape.length !== 1) throw new ModelConversionError(`${where}: only slices of 1-D constants are supported`);
    const begin = this.cst(n, bv, 'begin').data[0] as number;
    const end = this.cst(n, ev, 'end').data[0] as number;
    const stride = this.cst(n, sv, 'strides').data[0] as number;
    const len = xv.t.shape[0] as number;
    const norm = (i: number): number => (i < 0 ? i + len : i);
    const b = (attr.int(n, 'begin_mask') ?? 0) & 1 ? 0 : norm(begin);
    const e = (attr.int(n, 'end_mask') ?? 0) & 1 ? len : Math.min(len, norm(end));
    if (stride !== 1) throw new ModelConversionError(`${where}: strides other than 1 are not supported`);
    const values = Array.from(xv.t.data, Number).slice(b, e);
    const shrink = ((attr.int(n, 'shrink_axis_mask') ?? 0) & 1) === 1;
    const data = xv.t.dtype === 'float32' ? Float32Array.from(shrink ? values.slice(0, 1) : values) : Int32Array.from(shrink ? values.slice(0, 1) : values);
    return { kind: 'const', t: { dtype: xv.t.dtype, shape: shrink ? [] : [values.length], data } };
  }
}

function scalar(v: number): TfTensor {
  return { dtype: 'float32', shape: [], data: Float32Array.of(v) };
}

function ref(r: string): { node: string; index: number } {
  const clean = r.replace(/^\^/, '');
  const m = /^(.*):(\d+)$/.exec(clean);
  return m ? { node: m[1] as string, index: Number(m[2]) } : { node: clean, index: 0 };
}

function valueInfo(name: string, shape: number[]): Onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim: shape.map((d) => ({ dimValue: d })) } } } };
}

/** Converts a tfjs graph model to ONNX. Throws ModelConversionError naming the first node it cannot convert. */
export function convertTfjsToOnnx(model: TfjsGraphModel, options: ConvertOptions = {}): ConvertedModel {
  return new TfjsToOnnxConverter(model, options).convert();
}
