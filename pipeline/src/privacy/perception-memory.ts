import type { Box, DetectedObjectBox, ModelVersion } from '@chronotrace/contracts';
import { MotionGate, toGreySmall, type GreyImage, type MotionGateOptions, type MotionReason } from '../motion';
import { coverage, growBox } from './box-geometry';
import { RegionCarrier, type RegionCarrierOptions } from './region-carrier';
import type { SharedRgbFrame } from '../inference/image-tensor';

/**
 * The object detector as PrivacyCore needs it (ObjectDetector implements it): COCO boxes in frame
 * pixels for one raw JPEG. Tests give PrivacyCore fakes that count calls, fail or hang.
 */
export interface PrivacyObjectDetector {
  /** Model versions recorded with every redaction; complete once start() resolved. */
  readonly models: readonly ModelVersion[];
  start(): Promise<void>;
  /** `rgb`: the same frame decoded, in shared memory (the model then need not decode the JPEG). */
  detect(jpeg: Uint8Array, rgb?: SharedRgbFrame): Promise<{ boxes: DetectedObjectBox[]; ms: number }>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** The gate's verdict for one frame; 'gate-error' (the small grey image could not be made) runs the detector. */
export interface GateVerdict {
  runDetector: boolean;
  changedRatio: number;
  reason: MotionReason | 'gate-error';
  /** Where something moved, in frame pixels (empty when nothing did, or on warm-up / a global change). */
  regions: Box[];
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
  /** Frames redacted with carried regions between analysis frames. */
  carried: number;
  /** Of those, frames due for analysis that were carried because every model thread was busy. */
  deferred: number;
  /** Frames held back (not shown): due for analysis, every model thread busy, carried regions too old. */
  heldBack: number;
  /** Still frames that reused the camera's last face boxes / text boxes instead of running those models. */
  facesReused: number;
  textReused: number;
}

/** What PerceptionMemory.analysisDue decided for a frame. */
export type AnalysisDecision = 'analyse' | 'carry' | 'hold';

/** Motion no carried region explains triggers an analysis at most this often per camera. */
export const MOTION_ANALYSIS_GAP_MS = 250;

/** The privacy detectors besides the object detector whose last boxes a still frame may reuse. */
export type BoxDetectorKind = 'faces' | 'text';

/** A detection and the size of the frame its boxes are in: boxes are reused only on frames of that size. */
interface Remembered<B extends Box> {
  detection: Promise<B[]>;
  size: FrameSize;
  /** The detection has finished (or failed). */
  settled: boolean;
  /**
   * It was started for something new (a first analysis, motion no region explained): later frames wait
   * for it. A routine one (the analysis rate) is not waited for: they carry the regions of the last
   * finished detection meanwhile.
   */
  urgent: boolean;
}

function remembered<B extends Box>(detection: Promise<B[]>, size: FrameSize, urgent: boolean): Remembered<B> {
  const r: Remembered<B> = { detection, size, settled: false, urgent };
  detection.then(
    () => (r.settled = true),
    () => (r.settled = true),
  );
  return r;
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
  /** When the face / text detector last ran its whole-frame pass on this camera (ms epoch). */
  wholeFrameAt: Partial<Record<BoxDetectorKind, number>>;
  /** When the detectors last ran on this camera (capture time). */
  analysedAt: number | undefined;
  /** Redaction regions carried from detected frames to the frames between them. */
  carriers: { objects: RegionCarrier<DetectedObjectBox>; faces: RegionCarrier<Box>; text: RegionCarrier<Box> };
  carried: number;
  /** The motion blobs of the last analysis frame: motion there was looked at already. */
  examined: Box[];
  /** Analyses put off because every model thread was busy (the frame was carried instead). */
  deferred: number;
  /** Frames not shown: due for analysis, every thread busy, carried regions too old. */
  heldBack: number;
  /** The analysis being claimed now is urgent (see Remembered.urgent). */
  urgent: boolean;
  /** The kinds a detection has finished for at least once (their carriers hold regions to carry). */
  confirmed: Set<BoxDetectorKind | 'objects'>;
}

/**
 * Per-camera perception state shared by every PrivacyCore of a pool: frames of one camera go to
 * whichever core is free, so the motion gate (a running background) and the last object detections
 * must live in one place, not per core. One instance per PrivacyService (per process); a camera's
 * frames seen by several processes get one gate per process, which only costs an extra detector run.
 */
export class PerceptionMemory {
  private readonly cameras = new Map<string, CameraMemory>();

  constructor(
    private readonly motion: Omit<MotionGateOptions, 'camera'> = {},
    private readonly carry: RegionCarrierOptions = {},
  ) {}

  private camera(camera: string): CameraMemory {
    let c = this.cameras.get(camera);
    if (!c) {
      c = { gate: new MotionGate({ ...this.motion, camera }), chain: Promise.resolve(), last: undefined, lastBoxes: {}, frames: 0, detectorRuns: 0, reused: 0, facesReused: 0, textReused: 0, wholeFrameAt: {}, analysedAt: undefined, carried: 0, examined: [], deferred: 0, heldBack: 0, urgent: true, confirmed: new Set(),
        carriers: { objects: new RegionCarrier(this.carry), faces: new RegionCarrier(this.carry), text: new RegionCarrier(this.carry) },
      };
      this.cameras.set(camera, c);
    }
    return c;
  }

  /**
   * Runs the camera's motion gate on the frame (a small grey copy). Calls of one camera are applied in
   * call order, whatever order their decodes finish in. Never rejects: a frame the gate cannot read
   * goes to the detector ('gate-error'). `decoded`: the small grey image when the caller made it already.
   */
  gate(camera: string, jpeg: Uint8Array, at: number, decoded?: Promise<GreyImage>): Promise<GateVerdict> {
    const c = this.camera(camera);
    const grey = decoded ?? toGreySmall(jpeg);
    // Decodes run in parallel; only processFrame (cheap, stateful) is serialised.
    const verdict = c.chain.then(async (): Promise<GateVerdict> => {
      c.frames++;
      try {
        const r = c.gate.processFrame(await grey, at);
        return { runDetector: r.runDetector, changedRatio: r.changedRatio, reason: r.reason, regions: r.regions };
      } catch {
        return { runDetector: true, changedRatio: 1, reason: 'gate-error', regions: [] };
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
    c.last = remembered(detection, size, c.urgent);
  }

  /**
   * The camera's newest detections carried to the frame captured at `at` (waiting for them if that
   * detection is still running): `objects` as the latest detection saw them, `redact` with the people
   * it no longer confirms but still holds. Null if there are none, that detection failed, or it was made
   * on a frame of another size (its boxes would be in the wrong pixels): then the caller must run the
   * detector itself. `still`: nothing moved, so nothing is moved or grown.
   */
  async reuse(camera: string, size: FrameSize, at: number, still: boolean): Promise<{ objects: DetectedObjectBox[]; redact: DetectedObjectBox[] } | null> {
    const c = this.camera(camera);
    const last = c.last;
    if (!last || !sameSize(last.size, size)) return null;
    try {
      if (last.settled || last.urgent || !c.confirmed.has('objects')) await last.detection;
      c.reused++;
      return { objects: c.carriers.objects.predictLatest(at, still), redact: c.carriers.objects.predict(at, still) };
    } catch {
      if (c.last === last) c.last = undefined;
      return null;
    }
  }

  /** Records a face or text detection just started for the camera: later still frames of the same size reuse its boxes. */
  rememberBoxes(camera: string, kind: BoxDetectorKind, detection: Promise<Box[]>, size: FrameSize): void {
    const c = this.camera(camera);
    c.lastBoxes[kind] = remembered(detection, size, c.urgent);
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
  async reuseBoxes(camera: string, kind: BoxDetectorKind, size: FrameSize, at: number, still: boolean): Promise<Box[] | null> {
    const c = this.camera(camera);
    const last = c.lastBoxes[kind];
    if (!last || !sameSize(last.size, size)) return null;
    try {
      if (last.settled || last.urgent || !c.confirmed.has(kind)) await last.detection;
      if (kind === 'faces') c.facesReused++;
      else c.textReused++;
      return c.carriers[kind].predict(at, still);
    } catch {
      if (c.lastBoxes[kind] === last) delete c.lastBoxes[kind];
      return null;
    }
  }

  /**
   * A fresh detection of the camera's frame captured at `at`: updates the carried regions (velocities,
   * what is held) and returns the boxes to redact: the detection's own plus the regions it did not
   * confirm that are still held. Called inside the remembered detection, so frames waiting on it see it.
   */
  confirm<K extends BoxDetectorKind | 'objects'>(camera: string, kind: K, boxes: K extends 'objects' ? DetectedObjectBox[] : Box[], at: number): K extends 'objects' ? DetectedObjectBox[] : Box[] {
    const c = this.camera(camera);
    const carrier = c.carriers[kind] as RegionCarrier<Box>;
    carrier.update(boxes, at);
    c.confirmed.add(kind);
    return [...boxes, ...carrier.held(at)] as K extends 'objects' ? DetectedObjectBox[] : Box[];
  }

  /**
   * What to do with this camera's frame captured at `at`: 'analyse' when no analysis ran yet, the
   * analysis interval has passed, or something moved (`motion`, in frame pixels) that no carried region
   * covers (someone new stepping in); else 'carry' (redact with the carried regions). Under load
   * (`defer.busy()`: no model thread free) a due analysis is put off: the frame is carried while the
   * camera's last analysis is younger than `maxCarryMs`, else held back ('hold': not shown at all) until
   * a thread is free: never shown with regions too old to trust, never queued behind other cameras.
   */
  analysisDue(camera: string, at: number, intervalMs: number, motion: readonly Box[], defer?: { maxCarryMs: number; busy: () => boolean }): AnalysisDecision {
    const c = this.camera(camera);
    const last = c.analysedAt;
    // Motion no region explains triggers an analysis too, but at most every MOTION_ANALYSIS_GAP_MS (or
    // half the interval): in a crowd the detector misses someone now and then, and their motion must not
    // make every frame an analysis frame.
    const gap = Math.min(intervalMs / 2, MOTION_ANALYSIS_GAP_MS);
    const due = last === undefined || at < last || at - last >= intervalMs || (at - last >= gap && this.uncovered(c, motion, at));
    if (!due) {
      c.carried++;
      return 'carry';
    }
    if (defer?.busy()) {
      if (last !== undefined && at >= last && at - last < defer.maxCarryMs) {
        c.carried++;
        c.deferred++;
        return 'carry';
      }
      c.heldBack++;
      return 'hold';
    }
    // Urgent: something may be there that no region covers yet; frames after it wait for its result.
    c.urgent = last === undefined || at < last || at - last < intervalMs;
    c.analysedAt = at;
    c.examined = [...motion];
    return 'analyse';
  }

  private uncovered(c: CameraMemory, motion: readonly Box[], at: number): boolean {
    if (motion.length === 0) return false;
    // A blob is explained when it touches a carried region (grown by a quarter: a walking person leaves a
    // trail in the gate's running background, longer than the person) or a blob the last analysis already
    // looked at (a ghost where someone stood, leaves in the wind, someone the detector misses walking on):
    // the analysis rate catches up with those. Motion away from all of them (someone stepping in, a head
    // turning in a doorway) is not explained.
    const near = [...c.carriers.objects.predict(at), ...c.carriers.faces.predict(at)].map((r) => growBox(r, 0.25));
    const looked = c.examined.map((e) => growBox(e, 0.25));
    const explained = (m: Box): boolean => near.some((r) => coverage(m, r) > 0) || looked.some((e) => coverage(m, e) > 0);
    return motion.some((m) => !explained(m));
  }

  /**
   * Whether the face or text detector's whole-frame pass is due on this camera's frame captured at `at`
   * (none yet, or the last one is `intervalMs` old); when due, it is counted as run now. Between passes
   * the cascade looks only where people, vehicles and motion are.
   */
  wholeFrameDue(camera: string, kind: BoxDetectorKind, at: number, intervalMs: number): boolean {
    const c = this.camera(camera);
    const last = c.wholeFrameAt[kind];
    if (last !== undefined && at - last < intervalMs && at >= last) return false;
    c.wholeFrameAt[kind] = at;
    return true;
  }

  /** Forgets a camera's background and detections (its next frame is a warm-up frame). */
  forget(camera: string): void {
    this.cameras.delete(camera);
  }

  toJSON(): Record<string, PerceptionCameraStats> {
    const out: Record<string, PerceptionCameraStats> = {};
    for (const [k, c] of this.cameras) {
      out[k] = { frames: c.frames, detectorRuns: c.detectorRuns, reused: c.reused, skippedRatio: c.frames === 0 ? 0 : c.reused / c.frames, carried: c.carried, deferred: c.deferred, heldBack: c.heldBack, facesReused: c.facesReused, textReused: c.textReused };
    }
    return out;
  }
}

function sameSize(a: FrameSize, b: FrameSize): boolean {
  return a.width === b.width && a.height === b.height;
}
