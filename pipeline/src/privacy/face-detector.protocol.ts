import type { Box, ModelVersion } from '@chronotrace/contracts';

/** Face models in @vladmandic/face-api. */
export type FaceModel = 'tiny_face_detector' | 'ssd_mobilenetv1';

/** Given to the worker at start. */
export interface FaceWorkerData {
  modelDir: string;
  wasmDir: string;
  models: FaceModel[];
}

export interface FaceDetectParams {
  model: FaceModel;
  /** tiny_face_detector only: network input size, a multiple of 32. */
  inputSize: number;
  scoreThreshold: number;
  /**
   * Also run the model on a grid×grid of overlapping tiles (besides the whole frame), so small faces
   * are seen at a larger scale. 1 = whole frame only.
   */
  grid: number;
}

export type FaceWorkerRequest = { type: 'detect'; id: number; jpeg: Uint8Array; params: FaceDetectParams };

export type FaceWorkerResponse =
  | { type: 'ready'; versions: ModelVersion[]; backend: string }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; ok: true; boxes: Box[]; width: number; height: number; decodeMs: number; inferMs: number }
  | { type: 'result'; id: number; ok: false; message: string };
