import type { Box, ModelVersion } from '@chronotrace/contracts';
import type { SharedRgbFrame } from '../inference/image-tensor';

/** What one detector found in one frame. Boxes are in pixels of the frame it was given. */
export interface Detection {
  boxes: Box[];
  /** Wall time of this detection, decode included. */
  ms: number;
}

/**
 * Where a cascaded detector should look in a frame: regions found by the object detector (people's
 * heads for faces, vehicles for plates), and whether to run its whole-frame pass too (at a lower
 * cadence, for faces and text with no person or vehicle box).
 */
export interface DetectFocus {
  regions: Box[];
  wholeFrame: boolean;
}

/**
 * Port for a model that finds regions to hide (faces, text/plates). PrivacyCore takes these by
 * constructor, so tests can give it a detector that fails or hangs.
 */
export interface PrivacyDetector {
  /** Short name for stats, e.g. 'face', 'text'. */
  readonly name: string;
  /** Model versions recorded with every redaction; complete once start() resolved. */
  readonly models: readonly ModelVersion[];
  /** Loads the model. Idempotent; detect() calls it when needed. */
  start(): Promise<void>;
  /** Without a focus: the whole frame. `frame.rgb`: the frame already decoded, so the model need not decode the JPEG again. */
  detect(jpeg: Uint8Array, frame: { width: number; height: number; rgb?: SharedRgbFrame }, focus?: DetectFocus): Promise<Detection>;
  /** Frees the model and any worker. Idempotent. */
  close(): Promise<void>;
}
