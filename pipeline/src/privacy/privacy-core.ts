import sharp from 'sharp';
import type { Box, DetectedObjectBox, FrameMeta, ModelVersion, MotionDecision, PrivacySettings, RedactedFrameMeta } from '@chronotrace/contracts';
import { createLogger, type Logger } from '@chronotrace/platform';
import { headRegion } from '../detect/head-region';
import { roundBox } from './box-geometry';
import { PrivacyTimeoutError, withTimeout } from './errors';
import { FaceDetector } from './face-detector';
import { LatencyWindow } from './latency-window';
import { PerceptionMemory, type BoxDetectorKind, type PrivacyObjectDetector } from './perception-memory';
import type { PrivacyDetector } from './privacy-detector';
import { Redactor } from './redactor';
import { TextRegionDetector } from './text-region-detector';

/** A frame must be detected and redacted within this, or it is dropped (never passed on raw). */
export const DEFAULT_PRIVACY_TIMEOUT_MS = 5_000;

export interface PrivacyFrame {
  meta: FrameMeta;
  /** The raw (unredacted) JPEG. */
  jpeg: Uint8Array;
}

export type PrivacyFailure = 'invalid-frame' | 'timeout' | 'face-detector' | 'text-detector' | 'object-detector' | 'redactor' | 'closed';

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
    this.log = options.logger ?? createLogger('privacy-core');
  }

  /** Loads the models (else the first frames pay for it and may miss the deadline). */
  async start(): Promise<void> {
    await Promise.all([this.face.start(), this.text.start(), this.objects?.start()]);
  }

  async process(frame: PrivacyFrame, settings: PrivacySettings): Promise<PrivacyResult> {
    const t0 = performance.now();
    this.counts.frames++;
    if (this.closed) return this.fail('closed', 'privacy core is closed', frame.meta);
    try {
      const result = await withTimeout('privacy', this.timeoutMs, this.run(frame, settings, t0));
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
      if (e instanceof PrivacyTimeoutError) return this.fail('timeout', e.message, frame.meta);
      if (e instanceof StepError) return this.fail(e.reason, e.message, frame.meta);
      return this.fail('redactor', e instanceof Error ? e.message : String(e), frame.meta);
    }
  }

  private async run(frame: PrivacyFrame, settings: PrivacySettings, t0: number): Promise<{ ok: true; meta: RedactedFrameMeta; jpeg: Buffer }> {
    // Gate first, synchronously: the per-camera gate applies frames in the order the cores were given them.
    const objectDetector = this.objects;
    const gating = objectDetector ? this.memory.gate(frame.meta.camera, frame.jpeg, frame.meta.capturedAt) : undefined;
    const { width, height } = await step('invalid-frame', async () => {
      if (frame.jpeg.length === 0) throw new Error('empty frame body');
      const m = await sharp(frame.jpeg).metadata();
      if (!m.width || !m.height) throw new Error(`cannot read frame size (format ${m.format ?? 'unknown'})`);
      return { width: m.width, height: m.height };
    });
    const size = { width, height };
    const camera = frame.meta.camera;
    const memory = this.memory;
    const detect = async (on: boolean, d: PrivacyDetector, reason: PrivacyFailure, lat: LatencyWindow, kind: BoxDetectorKind): Promise<Box[]> => {
      if (!on) {
        memory.forgetBoxes(camera, kind);
        return [];
      }
      // A still frame (the motion gate says nothing moved) reuses the camera's last boxes of this
      // detector: faces and plates are where they were. A forced run every few seconds refreshes them.
      if (gating && !(await gating).runDetector) {
        const reused = await memory.reuseBoxes(camera, kind, size);
        if (reused) return reused;
      }
      const run = step(reason, async () => {
        const r = await d.detect(frame.jpeg, size);
        lat.add(r.ms);
        return r.boxes;
      });
      if (gating) memory.rememberBoxes(camera, kind, run, size);
      return run;
    };
    const objects = async (): Promise<{ boxes: DetectedObjectBox[]; motion: MotionDecision }> => {
      if (!objectDetector || !gating) return { boxes: [], motion: { ran: false, changedRatio: 0, reason: 'off' } };
      const verdict = await gating;
      const motion = { changedRatio: Math.round(verdict.changedRatio * 1e4) / 1e4, reason: verdict.reason };
      if (!verdict.runDetector) {
        // Nothing moved: the people are where they were. No usable last detection (none yet, or it failed): run it.
        const reused = await this.memory.reuse(frame.meta.camera, size);
        if (reused) return { boxes: reused, motion: { ran: false, ...motion } };
      }
      const run = step('object-detector', async () => {
        const r = await objectDetector.detect(frame.jpeg);
        this.latency.objects.add(r.ms);
        return r.boxes;
      });
      this.memory.remember(frame.meta.camera, run, size);
      return { boxes: await run, motion: { ran: true, ...motion } };
    };
    // allSettled, then rethrow: a failing detector must not leave the other's rejection unhandled.
    const [faces, plates, found] = await Promise.allSettled([
      detect(settings.faces, this.face, 'face-detector', this.latency.face, 'faces'),
      detect(settings.plates, this.text, 'text-detector', this.latency.text, 'text'),
      objects(),
    ]);
    if (faces.status === 'rejected') throw faces.reason;
    if (plates.status === 'rejected') throw plates.reason;
    if (found.status === 'rejected') throw found.reason;
    const heads = settings.heads ? found.value.boxes.filter((o) => o.label === 'person').map(headRegion) : [];
    const tr = performance.now();
    const out = await step('redactor', () =>
      this.redactor.redact({ jpeg: frame.jpeg, width, height, boxes: [...faces.value, ...plates.value, ...heads], method: settings.method, margin: settings.margin }),
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
        plates: plates.value.map(roundBox),
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
