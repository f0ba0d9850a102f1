import type { Box, DetectedObjectBox, ModelVersion } from '@chronotrace/contracts';
import { MotionGate, toGreySmall, type MotionGateOptions, type MotionReason } from '../motion';

/**
 * The object detector as PrivacyCore needs it (ObjectDetector implements it): COCO boxes in frame
 * pixels for one raw JPEG. Tests give PrivacyCore fakes that count calls, fail or hang.
 */
export interface PrivacyObjectDetector {
  /** Model versions recorded with every redaction; complete once start() resolved. */
  readonly models: readonly ModelVersion[];
  start(): Promise<void>;
  detect(jpeg: Uint8Array): Promise<{ boxes: DetectedObjectBox[]; ms: number }>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** The gate's verdict for one frame; 'gate-error' (the small grey image could not be made) runs the detector. */
export interface GateVerdict {
  runDetector: boolean;
  changedRatio: number;
  reason: MotionReason | 'gate-error';
}

export interface PerceptionCameraStats {
  /** Frames gated. */
  frames: number;
  /** Frames the object detector ran on. */
  detectorRuns: number;
  /** Frames that reused the camera's last detections (nothing moved). */
  reused: number;
  /** reused / frames (0 before the first frame). */
  skippedRatio: number;
  /** Still frames that reused the camera's last face boxes / text boxes instead of running those models. */
  facesReused: number;
  textReused: number;
}

/** The privacy detectors besides the object detector whose last boxes a still frame may reuse. */
export type BoxDetectorKind = 'faces' | 'text';

/** A detection and the size of the frame its boxes are in: boxes are reused only on frames of that size. */
interface Remembered<B extends Box> {
  detection: Promise<B[]>;
  size: FrameSize;
}

/** A frame's size in pixels. */
export interface FrameSize {
  width: number;
  height: number;
}

interface CameraMemory {
  gate: MotionGate;
  /** Gate calls run one after another per camera, in the order frames were handed to the cores. */
  chain: Promise<unknown>;
  /** The newest detection started for this camera (possibly still running); rejected → unusable. */
  last: Remembered<DetectedObjectBox> | undefined;
  /** The same for the face and text detectors. */
  lastBoxes: Partial<Record<BoxDetectorKind, Remembered<Box>>>;
  frames: number;
  detectorRuns: number;
  reused: number;
  facesReused: number;
  textReused: number;
}

/**
 * Per-camera perception state shared by every PrivacyCore of a pool: frames of one camera go to
 * whichever core is free, so the motion gate (a running background) and the last object detections
 * must live in one place, not per core. One instance per PrivacyService (per process); a camera's
 * frames seen by several processes get one gate per process, which only costs an extra detector run.
 */
export class PerceptionMemory {
  private readonly cameras = new Map<string, CameraMemory>();

  constructor(private readonly motion: Omit<MotionGateOptions, 'camera'> = {}) {}

  private camera(camera: string): CameraMemory {
    let c = this.cameras.get(camera);
    if (!c) {
      c = { gate: new MotionGate({ ...this.motion, camera }), chain: Promise.resolve(), last: undefined, lastBoxes: {}, frames: 0, detectorRuns: 0, reused: 0, facesReused: 0, textReused: 0 };
      this.cameras.set(camera, c);
    }
    return c;
  }

  /**
   * Runs the camera's motion gate on the frame (a small grey copy). Calls of one camera are applied in
   * call order, whatever order their decodes finish in. Never rejects: a frame the gate cannot read
   * goes to the detector ('gate-error').
   */
  gate(camera: string, jpeg: Uint8Array, at: number): Promise<GateVerdict> {
    const c = this.camera(camera);
    const grey = toGreySmall(jpeg);
    // Decodes run in parallel; only processFrame (cheap, stateful) is serialised.
    const verdict = c.chain.then(async (): Promise<GateVerdict> => {
      c.frames++;
      try {
        const r = c.gate.processFrame(await grey, at);
        return { runDetector: r.runDetector, changedRatio: r.changedRatio, reason: r.reason };
      } catch {
        return { runDetector: true, changedRatio: 1, reason: 'gate-error' };
      }
    });
    grey.catch(() => undefined);
    c.chain = verdict;
    return verdict;
  }

  /** Records a detection just started for the camera on a frame of `size`: later still frames of that size reuse its result. */
  remember(camera: string, detection: Promise<DetectedObjectBox[]>, size: FrameSize): void {
    const c = this.camera(camera);
    c.detectorRuns++;
    c.last = { detection, size };
    detection.catch(() => undefined);
  }

  /**
   * The camera's newest detections (waiting for them if that detection is still running), or null if
   * there are none, that detection failed, or it was made on a frame of another size (its boxes would
   * be in the wrong pixels): then the caller must run the detector itself.
   */
  async reuse(camera: string, size: FrameSize): Promise<DetectedObjectBox[] | null> {
    const c = this.camera(camera);
    const last = c.last;
    if (!last || !sameSize(last.size, size)) return null;
    try {
      const objects = await last.detection;
      c.reused++;
      return objects.map((o) => ({ ...o }));
    } catch {
      if (c.last === last) c.last = undefined;
      return null;
    }
  }

  /** Records a face or text detection just started for the camera: later still frames of the same size reuse its boxes. */
  rememberBoxes(camera: string, kind: BoxDetectorKind, detection: Promise<Box[]>, size: FrameSize): void {
    this.camera(camera).lastBoxes[kind] = { detection, size };
    detection.catch(() => undefined);
  }

  /** A detector was off for this camera's frame: its last boxes may be out of date when it is turned on again. */
  forgetBoxes(camera: string, kind: BoxDetectorKind): void {
    const c = this.cameras.get(camera);
    if (c) delete c.lastBoxes[kind];
  }

  /**
   * The camera's newest face or text boxes (waiting for them if still running), or null if there are
   * none, that detection failed, or it was on a frame of another size: the caller then runs the
   * detector. Nothing moved, so where the faces and plates were is where they are.
   */
  async reuseBoxes(camera: string, kind: BoxDetectorKind, size: FrameSize): Promise<Box[] | null> {
    const c = this.camera(camera);
    const last = c.lastBoxes[kind];
    if (!last || !sameSize(last.size, size)) return null;
    try {
      const boxes = await last.detection;
      if (kind === 'faces') c.facesReused++;
      else c.textReused++;
      return boxes.map((b) => ({ ...b }));
    } catch {
      if (c.lastBoxes[kind] === last) delete c.lastBoxes[kind];
      return null;
    }
  }

  /** Forgets a camera's background and detections (its next frame is a warm-up frame). */
  forget(camera: string): void {
    this.cameras.delete(camera);
  }

  toJSON(): Record<string, PerceptionCameraStats> {
    const out: Record<string, PerceptionCameraStats> = {};
    for (const [k, c] of this.cameras) {
      out[k] = { frames: c.frames, detectorRuns: c.detectorRuns, reused: c.reused, skippedRatio: c.frames === 0 ? 0 : c.reused / c.frames, facesReused: c.facesReused, textReused: c.textReused };
    }
    return out;
  }
}

function sameSize(a: FrameSize, b: FrameSize): boolean {
  return a.width === b.width && a.height === b.height;
}
