import type { Box } from '@chronotrace/contracts';
import { findChangedBlobs } from './changed-regions';
import { MotionOptionsError } from './errors';
import { assertGreyImage, boxBlur3, type GreyImage } from './grey-image';

export interface MotionGateOptions {
  /** Camera id, only for stats. Default ''. */
  camera?: string;
  /** A pixel has changed when its blurred grey level differs from the background by more than this (0..255). Default 25. */
  pixelThreshold?: number;
  /** Motion when at least this fraction of the image's pixels changed (after dropping tiny blobs). Default 0.002 (≈14 px of 96×72). */
  minChangedRatio?: number;
  /** Weight of the current frame in the running background (exponential average, 0..1]. Default 0.1 (half-life ≈ 7 frames). */
  alpha?: number;
  /** Blobs with fewer changed pixels than this are ignored (hot pixels, JPEG speckle). Default 3. */
  minBlobPixels?: number;
  /** Changed pixels up to this many pixels apart join one region. Default 1. */
  blobGap?: number;
  /**
   * Above this changed fraction the change is taken as global (lights switched, exposure, camera
   * moved): the background is reset to the frame and the detector runs once, but it is not motion.
   * Default 0.7. Use 1 to never treat a change as global.
   */
  globalChangeRatio?: number;
  /** Let a frame through to the detector at least this often even without motion, so slow changes are not missed. Default 5000 ms; Infinity disables. */
  forceEveryMs?: number;
  /** The first N frames after start or a reset are reported as motion (no background yet). Default 1. */
  warmUpFrames?: number;
  /** Clock used when a frame carries no time. Default Date.now. */
  now?: () => number;
}

export const DEFAULT_MOTION_GATE_OPTIONS = {
  camera: '',
  pixelThreshold: 25,
  minChangedRatio: 0.002,
  alpha: 0.1,
  minBlobPixels: 3,
  blobGap: 1,
  globalChangeRatio: 0.7,
  forceEveryMs: 5000,
  warmUpFrames: 1,
} as const;

type ResolvedOptions = Required<Omit<MotionGateOptions, 'now'>>;

/** Why the gate decided what it did. */
export type MotionReason = 'warm-up' | 'motion' | 'forced' | 'global-change' | 'still';

export interface MotionResult {
  /** Something moved (or the gate is warming up). */
  motion: boolean;
  /** The frame should go to the object detector: motion, warm-up, a global change or the forceEveryMs timer. */
  runDetector: boolean;
  reason: MotionReason;
  /** Fraction of the small image's pixels that changed, counting only blobs of minBlobPixels or more. */
  changedRatio: number;
  /** Bounding boxes of the changed blobs, in frame pixels (label 'motion'). Empty when warming up or on a global change. */
  regions: Box[];
  at: number;
}

export interface MotionGateStats {
  camera: string;
  frames: number;
  motionFrames: number;
  forcedFrames: number;
  globalChanges: number;
  /** Frames that did not need the detector. */
  skippedFrames: number;
  /** skippedFrames / frames (0 before the first frame). */
  skippedRatio: number;
  lastChangedRatio: number;
  options: ResolvedOptions;
}

export function parseMotionGateOptions(options: MotionGateOptions = {}): ResolvedOptions {
  const o: ResolvedOptions = {
    camera: options.camera ?? DEFAULT_MOTION_GATE_OPTIONS.camera,
    pixelThreshold: options.pixelThreshold ?? DEFAULT_MOTION_GATE_OPTIONS.pixelThreshold,
    minChangedRatio: options.minChangedRatio ?? DEFAULT_MOTION_GATE_OPTIONS.minChangedRatio,
    alpha: options.alpha ?? DEFAULT_MOTION_GATE_OPTIONS.alpha,
    minBlobPixels: options.minBlobPixels ?? DEFAULT_MOTION_GATE_OPTIONS.minBlobPixels,
    blobGap: options.blobGap ?? DEFAULT_MOTION_GATE_OPTIONS.blobGap,
    globalChangeRatio: options.globalChangeRatio ?? DEFAULT_MOTION_GATE_OPTIONS.globalChangeRatio,
    forceEveryMs: options.forceEveryMs ?? DEFAULT_MOTION_GATE_OPTIONS.forceEveryMs,
    warmUpFrames: options.warmUpFrames ?? DEFAULT_MOTION_GATE_OPTIONS.warmUpFrames,
  };
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new MotionOptionsError(what);
  };
  check(o.pixelThreshold >= 0 && o.pixelThreshold < 255, `pixelThreshold must be in [0, 255), got ${o.pixelThreshold}`);
  check(o.minChangedRatio >= 0 && o.minChangedRatio <= 1, `minChangedRatio must be in [0, 1], got ${o.minChangedRatio}`);
  check(o.alpha > 0 && o.alpha <= 1, `alpha must be in (0, 1], got ${o.alpha}`);
  check(Number.isInteger(o.minBlobPixels) && o.minBlobPixels >= 1, `minBlobPixels must be an integer ≥ 1, got ${o.minBlobPixels}`);
  check(Number.isInteger(o.blobGap) && o.blobGap >= 1 && o.blobGap <= 4, `blobGap must be an integer in [1, 4], got ${o.blobGap}`);
  check(o.globalChangeRatio > 0 && o.globalChangeRatio <= 1, `globalChangeRatio must be in (0, 1], got ${o.globalChangeRatio}`);
  check(o.forceEveryMs >= 0, `forceEveryMs must be ≥ 0 (Infinity disables), got ${o.forceEveryMs}`);
  check(Number.isInteger(o.warmUpFrames) && o.warmUpFrames >= 1, `warmUpFrames must be an integer ≥ 1, got ${o.warmUpFrames}`);
  return o;
}

/**
 * Cheap motion detector for one camera, after Frigate: blur a small grey frame, difference it
 * against a running-average background, threshold, group changed pixels into blobs. Decides which
 * frames reach the (≈200 ms) object detector. Pure: no I/O, time comes with the frame or from the
 * injected clock.
 */
export class MotionGate {
  readonly #o: ResolvedOptions;
  readonly #now: () => number;
  #background: Float32Array | null = null;
  #width = 0;
  #height = 0;
  #warmUpLeft: number;
  #lastRunAt = Number.NEGATIVE_INFINITY;
  #frames = 0;
  #motionFrames = 0;
  #forcedFrames = 0;
  #globalChanges = 0;
  #skippedFrames = 0;
  #lastChangedRatio = 0;

  constructor(options: MotionGateOptions = {}) {
    this.#o = parseMotionGateOptions(options);
    this.#now = options.now ?? Date.now;
    this.#warmUpLeft = this.#o.warmUpFrames;
  }

  /** Compares the frame with the background, then blends it into the background. */
  processFrame(image: GreyImage, at: number = this.#now()): MotionResult {
    assertGreyImage(image);
    this.#frames++;
    const blurred = boxBlur3(image);
    if (this.#background === null || image.width !== this.#width || image.height !== this.#height) {
      // No background yet, or the camera changed resolution: start over.
      this.#width = image.width;
      this.#height = image.height;
      this.#background = blurred;
      this.#warmUpLeft = this.#o.warmUpFrames;
    }
    const background = this.#background;

    if (this.#warmUpLeft > 0) {
      this.#warmUpLeft--;
      this.#blend(background, blurred);
      return this.#finish({ motion: true, runDetector: true, reason: 'warm-up', changedRatio: 0, regions: [], at });
    }

    const n = blurred.length;
    const mask = new Uint8Array(n);
    const threshold = this.#o.pixelThreshold;
    let raw = 0;
    for (let i = 0; i < n; i++) {
      if (Math.abs((blurred[i] ?? 0) - (background[i] ?? 0)) > threshold) {
        mask[i] = 1;
        raw++;
      }
    }

    if (raw / n > this.#o.globalChangeRatio) {
      // Lights, exposure or a moved camera: everything differs. Re-learn the background at once.
      this.#background = blurred;
      this.#globalChanges++;
      return this.#finish({ motion: false, runDetector: true, reason: 'global-change', changedRatio: raw / n, regions: [], at });
    }

    this.#blend(background, blurred);
    const blobs = raw === 0 ? [] : findChangedBlobs(mask, image.width, image.height, this.#o.blobGap).filter((b) => b.pixels >= this.#o.minBlobPixels);
    let changed = 0;
    for (const b of blobs) changed += b.pixels;
    const changedRatio = changed / n;
    const motion = changed > 0 && changedRatio >= this.#o.minChangedRatio;
    const sx = (image.sourceWidth ?? image.width) / image.width;
    const sy = (image.sourceHeight ?? image.height) / image.height;
    const regions: Box[] = motion ? blobs.map((b) => ({ x: b.x * sx, y: b.y * sy, w: b.w * sx, h: b.h * sy, label: 'motion' })) : [];
    if (motion) return this.#finish({ motion, runDetector: true, reason: 'motion', changedRatio, regions, at });
    if (at - this.#lastRunAt >= this.#o.forceEveryMs) {
      return this.#finish({ motion: false, runDetector: true, reason: 'forced', changedRatio, regions: [], at });
    }
    return this.#finish({ motion: false, runDetector: false, reason: 'still', changedRatio, regions: [], at });
  }

  /** Forgets the background: the next frame is a warm-up frame again. */
  reset(): void {
    this.#background = null;
  }

  toJSON(): MotionGateStats {
    return {
      camera: this.#o.camera,
      frames: this.#frames,
      motionFrames: this.#motionFrames,
      forcedFrames: this.#forcedFrames,
      globalChanges: this.#globalChanges,
      skippedFrames: this.#skippedFrames,
      skippedRatio: this.#frames === 0 ? 0 : this.#skippedFrames / this.#frames,
      lastChangedRatio: this.#lastChangedRatio,
      options: { ...this.#o },
    };
  }

  #blend(background: Float32Array, frame: Float32Array): void {
    const a = this.#o.alpha;
    for (let i = 0; i < background.length; i++) background[i] = (background[i] ?? 0) * (1 - a) + (frame[i] ?? 0) * a;
  }

  #finish(result: MotionResult): MotionResult {
    this.#lastChangedRatio = result.changedRatio;
    if (result.motion) this.#motionFrames++;
    if (result.reason === 'forced') this.#forcedFrames++;
    if (result.runDetector) this.#lastRunAt = result.at;
    else this.#skippedFrames++;
    return result;
  }
}
