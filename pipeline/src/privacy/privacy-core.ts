import sharp from 'sharp';
import type { Box, DetectedObjectBox, FrameMeta, ModelVersion, MotionDecision, PrivacySettings, RedactedFrameMeta } from '@chronotrace/contracts';
import { createLogger, type Logger } from '@chronotrace/platform';
import { headRegion } from '../detect/head-region';
import { plateRegion } from '../detect/plate-region';
import { decodeRgbFrame, type DecodedRgbFrame } from '../inference/decode-frame';
import { shareRgbFrame, type SharedRgbFrame } from '../inference/image-tensor';
import { LatencyWindow } from '../inference/latency-window';
import { greySmallFromRgb } from '../motion';
import { coverage, roundBox } from './box-geometry';
import { InferenceTimeoutError, withTimeout } from './errors';
import { FaceDetector } from './face-detector';
import { PerceptionMemory, type BoxDetectorKind, type GateVerdict, type PrivacyObjectDetector } from './perception-memory';
import type { DetectFocus, PrivacyDetector } from './privacy-detector';
import { Redactor } from './redactor';
import { TextRegionDetector } from './text-region-detector';

/** A frame must be detected and redacted within this, or it is dropped (never passed on raw). */
export const DEFAULT_PRIVACY_TIMEOUT_MS = 5_000;
/**
 * With an object detector, the face detector looks at people's head regions and at motion no person
 * explains on every analysed frame, and over the whole frame (tiled) at most this often per camera.
 */
export const DEFAULT_FACE_WHOLE_FRAME_INTERVAL_MS = 2_000;
/** With an object detector (and so a motion gate), the detectors run at most this often per camera, besides on motion no carried region covers. */
export const DEFAULT_ANALYSIS_INTERVAL_MS = 500;
/** Under load, how long a camera may go on carried regions since its last analysis before a frame waits for a model thread. */
export const DEFAULT_MAX_CARRY_MS = 2_000;
/** Likewise the text detector: vehicles on every analysed frame, the whole frame at most this often. */
export const DEFAULT_TEXT_WHOLE_FRAME_INTERVAL_MS = 3_000;
/** COCO classes whose boxes the text detector reads for plates. */
export const PLATE_CARRIERS: ReadonlySet<string> = new Set(['car', 'truck', 'bus', 'motorcycle']);

export interface PrivacyFrame {
  meta: FrameMeta;
  /** The raw (unredacted) JPEG. */
  jpeg: Uint8Array;
  /** The camera's analysis interval (1000 / analysisFps). Default: the core's analysisIntervalMs. */
  analysisIntervalMs?: number;
  /**
   * A recorded video (an upload), not a live camera: complete beats live, so a due analysis waits for a
   * model thread instead of being put off under load, and what is found does not depend on the load.
   */
  recorded?: boolean;
}

export type PrivacyFailure = 'invalid-frame' | 'timeout' | 'face-detector' | 'text-detector' | 'object-detector' | 'redactor' | 'closed' | 'held-back';

/** What plan() decided for a frame: the motion gate's verdict (none without an object detector) and whether the detectors run. */
export interface PrivacyPlan {
  verdict: GateVerdict | undefined;
  analyse: boolean;
  /** Under load, with carried regions too old to trust: the frame is not shown (never shown raw either). */
  holdBack?: boolean;
  /** The frame decoded once (RGB), when planned with a gate. */
  rgb?: Promise<DecodedRgbFrame>;
  /** An analysis frame's detections, claimed when planned and settled by process(). */
  pending?: { objects: Deferred<DetectedObjectBox[]>; faces: Deferred<Box[]>; text: Deferred<Box[]> };
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T | Promise<T>): void;
  reject(e: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (v: T | Promise<T>) => void = () => undefined;
  let reject: (e: Error) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export type PrivacyResult =
  | { ok: true; meta: RedactedFrameMeta; jpeg: Buffer }
  | { ok: false; reason: PrivacyFailure; detail: string };

export interface PrivacyCoreOptions {
  /** Face detector; the core owns it and closes it. Default: a FaceDetector with its defaults. */
  face?: PrivacyDetector;
  /** Text/plate detector; owned likewise. Default: a TextRegionDetector with its defaults. */
  text?: PrivacyDetector;
  /**
   * COCO object detector (owned and closed likewise). When given, every person's head region is redacted
   * (settings.heads) and all objects go into the metadata; motion-gated through `memory`. Default: none
   * (faces and text only).
   */
  objects?: PrivacyObjectDetector;
  /** Per-camera motion gates and last detections, shared by all cores of a pool. Default: this core's own. */
  memory?: PerceptionMemory;
  /** Default: a Redactor with its defaults. */
  redactor?: Redactor;
  /** Per-frame deadline, detection and redaction together. Default DEFAULT_PRIVACY_TIMEOUT_MS (5000). */
  timeoutMs?: number;
  /**
   * With an object detector: the detectors run at most this often per camera (its analysis rate), and
   * besides whenever something moves that no carried region covers; frames between are redacted with
   * the carried regions. Default DEFAULT_ANALYSIS_INTERVAL_MS (500: 2 analysis frames a second).
   */
  analysisIntervalMs?: number;
  /**
   * Under load (a pool's model threads all busy) a camera's frames are redacted with carried regions for
   * at most this long since its last analysis; then a frame waits for a thread. Default
   * DEFAULT_MAX_CARRY_MS (2000), and never less than two analysis intervals.
   */
  maxCarryMs?: number;
  /** Whole-frame face pass at most this often per camera when cascading. Default DEFAULT_FACE_WHOLE_FRAME_INTERVAL_MS (2000). */
  faceWholeFrameIntervalMs?: number;
  /** Whole-frame text pass at most this often per camera when cascading. Default DEFAULT_TEXT_WHOLE_FRAME_INTERVAL_MS (3000). */
  textWholeFrameIntervalMs?: number;
  logger?: Logger;
}

export interface PrivacyCoreStats {
  frames: number;
  redacted: number;
  failures: number;
  failuresByReason: Partial<Record<PrivacyFailure, number>>;
  facesFound: number;
  textRegionsFound: number;
  headsFound: number;
  /** Frames the object detector ran on / frames that reused the camera's last detections (motion gating). */
  objectRuns: number;
  objectReused: number;
  ms: Record<'total' | 'face' | 'text' | 'objects' | 'redact', { count: number; p50: number | null; p99: number | null }>;
}

class StepError extends Error {
  constructor(
    readonly reason: PrivacyFailure,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

async function step<T>(reason: PrivacyFailure, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw new StepError(reason, e);
  }
}

/**
 * The privacy boundary as a pure-ish function: raw JPEG in → redacted JPEG + what was hidden out,
 * or a failure value. FAIL CLOSED: any detector error, redaction error or deadline miss yields
 * `{ ok: false }` and never the input bytes. Face and text detection run concurrently (the face
 * model in its worker, the text model on ONNX Runtime's thread). With an object detector (and so a
 * motion gate), a still frame reuses the camera's last boxes of all three detectors.
 */
export class PrivacyCore {
  private readonly face: PrivacyDetector;
  private readonly text: PrivacyDetector;
  private readonly objects: PrivacyObjectDetector | undefined;
  private readonly memory: PerceptionMemory;
  private readonly redactor: Redactor;
  private readonly timeoutMs: number;
  private readonly analysisIntervalMs: number;
  private readonly maxCarryMs: number;
  private readonly faceIntervalMs: number;
  private readonly textIntervalMs: number;
  private readonly log: Logger;
  private closed = false;
  private readonly latency = { total: new LatencyWindow(), face: new LatencyWindow(), text: new LatencyWindow(), objects: new LatencyWindow(), redact: new LatencyWindow() };
  private readonly counts = { frames: 0, redacted: 0, failures: 0, facesFound: 0, textRegionsFound: 0, headsFound: 0, objectRuns: 0, objectReused: 0 };
  private readonly failuresByReason: Partial<Record<PrivacyFailure, number>> = {};

  constructor(options: PrivacyCoreOptions = {}) {
    this.face = options.face ?? new FaceDetector();
    this.text = options.text ?? new TextRegionDetector();
    this.objects = options.objects;
    this.memory = options.memory ?? new PerceptionMemory();
    this.redactor = options.redactor ?? new Redactor();
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PRIVACY_TIMEOUT_MS;
    this.analysisIntervalMs = options.analysisIntervalMs ?? DEFAULT_ANALYSIS_INTERVAL_MS;
    this.maxCarryMs = options.maxCarryMs ?? DEFAULT_MAX_CARRY_MS;
    this.faceIntervalMs = options.faceWholeFrameIntervalMs ?? DEFAULT_FACE_WHOLE_FRAME_INTERVAL_MS;
    this.textIntervalMs = options.textWholeFrameIntervalMs ?? DEFAULT_TEXT_WHOLE_FRAME_INTERVAL_MS;
    this.log = options.logger ?? createLogger('privacy-core');
  }

  /** Loads the models (else the first frames pay for it and may miss the deadline). */
  async start(): Promise<void> {
    await Promise.all([this.face.start(), this.text.start(), this.objects?.start()]);
  }

  /**
   * Decides, in call order per camera, whether the detectors run on this frame: the motion gate's
   * verdict, then the camera's analysis rate and motion no carried region covers. Without an object
   * detector (no gate) every frame is analysed. Call it synchronously when the frame is handed over
   * (process() does, unless given a plan): the gate applies frames in the order it is called. `busy`
   * (a pool's "every model thread is taken"): a due analysis is put off and the frame carried, while the
   * camera's last analysis is younger than maxCarryMs; an older one waits for a thread (held back).
   */
  plan(frame: PrivacyFrame, busy?: () => boolean): Promise<PrivacyPlan> {
    if (!this.objects) return Promise.resolve({ verdict: undefined, analyse: true });
    const { camera, capturedAt } = frame.meta;
    const interval = frame.analysisIntervalMs ?? this.analysisIntervalMs;
    const defer = busy ? { maxCarryMs: Math.max(this.maxCarryMs, 2 * interval), busy } : undefined;
    // One decode per frame: the gate's small grey image and the redaction both use it.
    const rgb = decodeRgbFrame(frame.jpeg);
    rgb.catch(() => undefined);
    return this.memory.gate(camera, frame.jpeg, capturedAt, rgb.then((d) => greySmallFromRgb({ data: d.data, width: d.width, height: d.height }))).then((verdict) => {
      const decision = verdict.runDetector ? this.memory.analysisDue(camera, capturedAt, interval, verdict.regions, defer) : 'carry';
      if (decision !== 'analyse') return { verdict, analyse: false, rgb, ...(decision === 'hold' ? { holdBack: true } : {}) };
      // Claimed now, in the camera's frame order: a later frame of the camera (on any core of the pool)
      // waits for this frame's detections instead of finding none and running its own.
      const pending = { objects: deferred<DetectedObjectBox[]>(), faces: deferred<Box[]>(), text: deferred<Box[]>() };
      const size = { width: frame.meta.width, height: frame.meta.height };
      this.memory.remember(camera, pending.objects.promise, size);
      this.memory.rememberBoxes(camera, 'faces', pending.faces.promise, size);
      this.memory.rememberBoxes(camera, 'text', pending.text.promise, size);
      return { verdict, analyse: true, pending, rgb };
    });
  }

  async process(frame: PrivacyFrame, settings: PrivacySettings, plan?: Promise<PrivacyPlan>): Promise<PrivacyResult> {
    const t0 = performance.now();
    this.counts.frames++;
    const planned = plan ?? this.plan(frame);
    planned.catch(() => undefined);
    if (this.closed) return this.fail('closed', 'privacy core is closed', frame.meta);
    // Held back under load: an expected outcome (the stage counts it as skipped), not a failure.
    if ((await planned.catch(() => undefined))?.holdBack) return { ok: false, reason: 'held-back', detail: 'every model thread busy and the carried regions too old' };
    const abandon = (): void => {
      void planned.then((p) => {
        // Whatever did not run (a failure, a detector off): the frames waiting on it run their own.
        const why = new Error('the analysis frame did not finish its detections');
        p.pending?.objects.reject(why);
        p.pending?.faces.reject(why);
        p.pending?.text.reject(why);
      }, () => undefined);
    };
    try {
      const result = await withTimeout('privacy', this.timeoutMs, this.run(frame, settings, t0, planned)).finally(abandon);
      this.counts.redacted++;
      this.counts.facesFound += result.meta.redaction.faces.length;
      this.counts.textRegionsFound += result.meta.redaction.plates.length;
      this.counts.headsFound += result.meta.redaction.heads.length;
      if (this.objects) {
        if (result.meta.redaction.motion.ran) this.counts.objectRuns++;
        else this.counts.objectReused++;
      }
      this.latency.total.add(performance.now() - t0);
      return result;
    } catch (e) {
      // The frame's own deadline (a detector's hang arrives wrapped as that detector's failure).
      if (e instanceof InferenceTimeoutError) return this.fail('timeout', e.message, frame.meta);
      if (e instanceof StepError) return this.fail(e.reason, e.message, frame.meta);
      return this.fail('redactor', e instanceof Error ? e.message : String(e), frame.meta);
    }
  }

  private async run(frame: PrivacyFrame, settings: PrivacySettings, t0: number, plan: Promise<PrivacyPlan>): Promise<{ ok: true; meta: RedactedFrameMeta; jpeg: Buffer }> {
    const objectDetector = this.objects;
    const planned = await plan;
    const decoded = planned.rgb ? await step('invalid-frame', () => planned.rgb as Promise<DecodedRgbFrame>) : undefined;
    const { width, height } = decoded ?? (await step('invalid-frame', async () => {
      if (frame.jpeg.length === 0) throw new Error('empty frame body');
      const m = await sharp(frame.jpeg).metadata();
      if (!m.width || !m.height) throw new Error(`cannot read frame size (format ${m.format ?? 'unknown'})`);
      return { width: m.width, height: m.height };
    }));
    const size = { width, height };
    // The decoded frame in shared memory for the model threads (one copy, only when a detector runs):
    // shared before the redactor pixelates `decoded` in place, so the models see the raw pixels.
    let shared: SharedRgbFrame | undefined;
    const pixels = (): SharedRgbFrame | undefined => (decoded ? (shared ??= shareRgbFrame(decoded)) : undefined);
    const camera = frame.meta.camera;
    const memory = this.memory;
    const at = frame.meta.capturedAt;
    // Detect sparsely, redact densely: with a motion gate, the detectors run on analysis frames (the
    // camera's analysis rate, and whenever something moves that no carried region covers); every other
    // frame is redacted with the regions carried from the last detection (moved, grown with their age).
    // A still frame (nothing moved) reuses them as they were. No usable carried region: analyse.
    const { verdict, analyse, pending } = planned;
    const still = verdict ? !verdict.runDetector : false;
    const detect = async (on: boolean, d: PrivacyDetector, reason: PrivacyFailure, lat: LatencyWindow, kind: BoxDetectorKind, focus: () => Promise<DetectFocus | undefined>): Promise<Box[]> => {
      if (!on) {
        memory.forgetBoxes(camera, kind);
        return [];
      }
      if (verdict && !analyse) {
        const carried = await memory.reuseBoxes(camera, kind, size, at, still);
        if (carried) return carried;
      }
      const run = step(reason, async () => {
        const where = await focus();
        const rgb = pixels();
        const r = await d.detect(frame.jpeg, rgb ? { ...size, rgb } : size, where);
        if (r.ms > 0) lat.add(r.ms);
        return verdict ? memory.confirm(camera, kind, r.boxes, at) : r.boxes;
      });
      // Remembered when planned (pending); otherwise (a carried frame that found nothing usable) now.
      if (pending) pending[kind].resolve(run);
      else if (verdict) memory.rememberBoxes(camera, kind, run, size);
      return run;
    };
    const objects = async (): Promise<{ boxes: DetectedObjectBox[]; redact: DetectedObjectBox[]; motion: MotionDecision }> => {
      if (!objectDetector || !verdict) return { boxes: [], redact: [], motion: { ran: false, changedRatio: 0, reason: 'off' } };
      const motion = { changedRatio: Math.round(verdict.changedRatio * 1e4) / 1e4, reason: verdict.reason };
      if (!analyse) {
        const carried = await memory.reuse(camera, size, at, still);
        if (carried) return { boxes: carried.objects, redact: carried.redact, motion: { ran: false, ...motion } };
      }
      const run = step('object-detector', async () => {
        const r = await objectDetector.detect(frame.jpeg, pixels());
        this.latency.objects.add(r.ms);
        // What this detection saw is reported; the people it no longer confirms but still holds are redacted too.
        return { boxes: r.boxes, redact: memory.confirm(camera, 'objects', r.boxes, at) };
      });
      const boxes = run.then((r) => r.boxes);
      if (pending) pending.objects.resolve(boxes);
      else memory.remember(camera, boxes, size);
      return { ...(await run), motion: { ran: true, ...motion } };
    };
    // The cascade: with an object detector, faces are looked for in people's head regions and where
    // something moved that no person explains, plates in vehicle boxes; each whole-frame pass (for faces
    // and text with no such box) runs at most every few seconds per camera. Without one, whole frames.
    const objectsRun = objects();
    objectsRun.catch(() => undefined);
    const faceFocus = async (): Promise<DetectFocus | undefined> => {
      if (!verdict) return undefined;
      const { boxes } = await objectsRun;
      const people = boxes.filter((o) => o.label === 'person');
      // With heads redacted, a person's head region is hidden whatever the face detector finds there: it
      // looks only where no person explains the motion. Without, it looks at every head region too.
      const heads = settings.heads ? [] : people.map(headRegion);
      return { regions: [...heads, ...unexplainedMotion(verdict, people)], wholeFrame: memory.wholeFrameDue(camera, 'faces', at, this.faceIntervalMs) };
    };
    const textFocus = async (): Promise<DetectFocus | undefined> => {
      if (!verdict) return undefined;
      const { boxes } = await objectsRun;
      return { regions: boxes.filter((o) => PLATE_CARRIERS.has(o.label)), wholeFrame: memory.wholeFrameDue(camera, 'text', at, this.textIntervalMs) };
    };
    // allSettled, then rethrow: a failing detector must not leave the other's rejection unhandled.
    const [faces, plates, found] = await Promise.allSettled([
      detect(settings.faces, this.face, 'face-detector', this.latency.face, 'faces', faceFocus),
      detect(settings.plates, this.text, 'text-detector', this.latency.text, 'text', textFocus),
      objectsRun,
    ]);
    // The object detector first: the cascaded detectors fail with it when it fails.
    if (found.status === 'rejected') throw found.reason;
    if (faces.status === 'rejected') throw faces.reason;
    if (plates.status === 'rejected') throw plates.reason;
    const heads = settings.heads ? found.value.redact.filter((o) => o.label === 'person').map(headRegion) : [];
    // Plates the text detector missed (blur, dirt, angle): the plate area of every large enough vehicle.
    const plateAreas = settings.plates ? found.value.redact.filter((o) => PLATE_CARRIERS.has(o.label) && o.label !== 'motorcycle').flatMap((o) => plateRegion(o) ?? []) : [];
    const plateBoxes = [...plates.value, ...plateAreas];
    const tr = performance.now();
    const out = await step('redactor', () =>
      this.redactor.redact({ jpeg: frame.jpeg, width, height, boxes: [...faces.value, ...plateBoxes, ...heads], method: settings.method, margin: settings.margin, ...(decoded ? { rgb: decoded.data } : {}) }),
    );
    this.latency.redact.add(performance.now() - tr);
    const models: ModelVersion[] = [
      ...(settings.faces ? this.face.models : []),
      ...(settings.plates ? this.text.models : []),
      ...(objectDetector ? objectDetector.models : []),
    ];
    const meta: RedactedFrameMeta = {
      ...frame.meta,
      width,
      height,
      redaction: {
        faces: faces.value.map(roundBox),
        plates: plateBoxes.map(roundBox),
        heads: heads.map(roundBox),
        objects: found.value.boxes.map((o) => ({ ...roundBox(o), label: o.label, score: Math.round(o.score * 1000) / 1000 })),
        motion: found.value.motion,
        method: settings.method,
        models,
        ms: Math.round((performance.now() - t0) * 10) / 10,
        redactedAt: Date.now(),
      },
    };
    return { ok: true, meta, jpeg: out.jpeg };
  }

  private fail(reason: PrivacyFailure, detail: string, meta: FrameMeta): PrivacyResult {
    this.counts.failures++;
    this.failuresByReason[reason] = (this.failuresByReason[reason] ?? 0) + 1;
    this.log.warn({ camera: meta.camera, frameId: meta.frameId, reason, detail }, 'frame dropped: redaction failed (fail closed)');
    return { ok: false, reason, detail };
  }

  /** Closes the detectors (and their worker). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.face.close(), this.text.close(), this.objects?.close()]);
  }

  toJSON(): PrivacyCoreStats {
    return {
      ...this.counts,
      failuresByReason: { ...this.failuresByReason },
      ms: { total: this.latency.total.toJSON(), face: this.latency.face.toJSON(), text: this.latency.text.toJSON(), objects: this.latency.objects.toJSON(), redact: this.latency.redact.toJSON() },
    };
  }
}

/** Motion regions no person box covers for the most part: a face may be there with no person found. */
function unexplainedMotion(verdict: GateVerdict, people: readonly Box[]): Box[] {
  return verdict.regions.filter((m) => !people.some((p) => coverage(m, p) > 0.5));
}
