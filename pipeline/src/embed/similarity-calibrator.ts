import { dot } from './embedder';
import type { SimilarityJudgement } from '../matching/track-matcher';

export interface SimilarityCalibratorOptions {
  /** A frame's score must exceed this percentile of the query's scores on the camera's recent frames. Default 99. */
  percentile?: number;
  /** Recent frames kept per camera as its background. Default 256. */
  windowFrames?: number;
  /** Below this many background frames a camera is still calibrating: the term does not hold. Default 20. */
  minFrames?: number;
}

export const DEFAULT_SIMILARITY_CALIBRATION = { percentile: 99, windowFrames: 256, minFrames: 20 } as const;

/** A query's text embedding, for the calibrator. */
export interface SimilarityQuery {
  id: string;
  vector: Float32Array;
}

/**
 * Per-camera, per-query calibrated thresholds for image–text similarity. Raw cosine scores of CLIP-like
 * models sit in a narrow band that differs by camera (scene, light, lens) and by text, so a fixed
 * cut-off either never fires or always does. Instead, each camera keeps its recent frame embeddings
 * as background, and a query holds on a frame when the frame's score exceeds the given percentile of
 * that query's scores on the background: "this frame looks more like the text than 99 % of what the
 * camera showed lately". Pure: no I/O, no clock.
 */
export class SimilarityCalibrator {
  readonly #percentile: number;
  readonly #window: number;
  readonly #min: number;
  readonly #rings = new Map<string, { frames: Float32Array[]; next: number }>();

  constructor(
    private readonly model: string,
    options: SimilarityCalibratorOptions = {},
  ) {
    this.#percentile = options.percentile ?? DEFAULT_SIMILARITY_CALIBRATION.percentile;
    this.#window = options.windowFrames ?? DEFAULT_SIMILARITY_CALIBRATION.windowFrames;
    this.#min = options.minFrames ?? DEFAULT_SIMILARITY_CALIBRATION.minFrames;
    if (!(this.#percentile > 0 && this.#percentile < 100)) throw new RangeError(`percentile must be in (0, 100), got ${this.#percentile}`);
    if (!(Number.isInteger(this.#window) && this.#window >= 1)) throw new RangeError(`windowFrames must be an integer ≥ 1, got ${this.#window}`);
    if (!(Number.isInteger(this.#min) && this.#min >= 1 && this.#min <= this.#window)) throw new RangeError(`minFrames must be in [1, windowFrames], got ${this.#min}`);
  }

  /**
   * Judges a new frame of `camera` against each query (scores against the background as it was before
   * this frame), then adds the frame to the background.
   */
  judge(camera: string, frame: Float32Array, queries: readonly SimilarityQuery[]): Map<string, SimilarityJudgement> {
    let ring = this.#rings.get(camera);
    if (!ring) this.#rings.set(camera, (ring = { frames: [], next: 0 }));
    const out = new Map<string, SimilarityJudgement>();
    for (const q of queries) {
      const score = dot(frame, q.vector);
      const calibrating = ring.frames.length < this.#min;
      const threshold = calibrating ? Number.POSITIVE_INFINITY : this.#threshold(ring.frames, q.vector);
      out.set(q.id, {
        score: round(score),
        threshold: Number.isFinite(threshold) ? round(threshold) : threshold,
        percentile: this.#percentile,
        model: this.model,
        holds: !calibrating && score > threshold,
      });
    }
    if (ring.frames.length < this.#window) ring.frames.push(frame);
    else {
      ring.frames[ring.next] = frame;
      ring.next = (ring.next + 1) % this.#window;
    }
    return out;
  }

  /** Background frames kept for a camera. */
  frames(camera: string): number {
    return this.#rings.get(camera)?.frames.length ?? 0;
  }

  forget(camera: string): void {
    this.#rings.delete(camera);
  }

  /** Nearest-rank percentile of the query's scores on the background. */
  #threshold(frames: readonly Float32Array[], vector: Float32Array): number {
    const scores = frames.map((f) => dot(f, vector)).sort((a, b) => a - b);
    const k = Math.min(scores.length - 1, Math.max(0, Math.ceil((this.#percentile / 100) * scores.length) - 1));
    return scores[k] ?? Number.POSITIVE_INFINITY;
  }
}

function round(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}
