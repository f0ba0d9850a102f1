import type * as Tfc from '@tensorflow/tfjs-core';

/**
 * face-api's node build requires `@tensorflow/tfjs` (the umbrella package, which we do not install: it
 * pulls layers, data and webgl). tfjs-core alone lacks the chained tensor methods (`t.as3D()`,
 * `t.sub()`…) that the umbrella registers, and its CommonJS build does not ship them. This adds them:
 * every chained op in tfjs-core 4.22 is `op(this, ...args)` except the few written out below.
 */
const PLAIN_OPS =
  'abs acos acosh add all any argMax argMin asin asinh atan atan2 atanh avgPool batchToSpaceND batchNorm broadcastTo cast ceil ' +
  'clipByValue conv1d conv2d conv2dTranspose cos cosh cumprod cumsum depthToSpace depthwiseConv2d dilation2d div divNoNan dot elu ' +
  'equal erf euclideanNorm exp expandDims expm1 fft floor floorDiv gather greater greaterEqual ifft irfft isFinite isInf isNaN ' +
  'leakyRelu less lessEqual localResponseNormalization log log1p logSigmoid logSoftmax logSumExp logicalAnd logicalNot logicalOr ' +
  'logicalXor matMul max maxPool maximum mean min minimum mirrorPad mod mul neg norm notEqual oneHot onesLike pad pool pow prelu ' +
  'prod reciprocal relu relu6 reshape reverse rfft round rsqrt selu separableConv2d sigmoid sign sin sinh slice softmax softplus ' +
  'spaceToBatchND split sqrt square squaredDifference squeeze step stridedSlice sub sum tan tanh tile topk transpose unique ' +
  'unsortedSegmentSum unstack zerosLike';

type Method = (this: Tfc.Tensor, ...args: unknown[]) => unknown;

export function registerChainedOps(tf: typeof Tfc): void {
  const proto = tf.Tensor.prototype as unknown as Record<string, Method | undefined>;
  const ops = tf as unknown as Record<string, unknown>;
  const define = (name: string, fn: Method): void => {
    if (proto[name] === undefined) proto[name] = fn;
  };
  for (const name of PLAIN_OPS.split(' ')) {
    const op = ops[name];
    if (typeof op !== 'function') throw new Error(`tfjs-core has no op "${name}": chained-op shim out of date`);
    define(name, function (this: Tfc.Tensor, ...args: unknown[]) {
      return (op as (...a: unknown[]) => unknown)(this, ...args);
    });
  }
  const list = (x: unknown): Tfc.Tensor[] => (x instanceof tf.Tensor ? [x] : (x as Tfc.Tensor[]));
  const special: Record<string, Method> = {
    as1D() { return tf.reshape(this, [this.size]); },
    as2D(a, b) { return tf.reshape(this, [a, b] as number[]); },
    as3D(a, b, c) { return tf.reshape(this, [a, b, c] as number[]); },
    as4D(a, b, c, d) { return tf.reshape(this, [a, b, c, d] as number[]); },
    as5D(a, b, c, d, e) { return tf.reshape(this, [a, b, c, d, e] as number[]); },
    asScalar() { return tf.reshape(this, []); },
    asType(dtype) { return tf.cast(this, dtype as Tfc.DataType); },
    toFloat() { return tf.cast(this, 'float32'); },
    toInt() { return tf.cast(this, 'int32'); },
    toBool() { return tf.cast(this, 'bool'); },
    flatten() { return tf.reshape(this, [this.size]); },
    reshapeAs(x) { return tf.reshape(this, (x as Tfc.Tensor).shape); },
    concat(x, axis) { return tf.concat([this, ...list(x)], axis as number | undefined); },
    stack(x, axis) { return tf.stack([this, ...list(x)], axis as number | undefined); },
    where(condition, x) { return tf.where(condition as Tfc.Tensor, this, x as Tfc.Tensor); },
    resizeBilinear(size, alignCorners) { return tf.image.resizeBilinear(this as Tfc.Tensor3D, size as [number, number], alignCorners as boolean | undefined); },
    resizeNearestNeighbor(size, alignCorners) { return tf.image.resizeNearestNeighbor(this as Tfc.Tensor3D, size as [number, number], alignCorners as boolean | undefined); },
  };
  for (const [name, fn] of Object.entries(special)) define(name, fn);
}
