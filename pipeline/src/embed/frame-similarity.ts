import type { StandingQuery } from '@chronotrace/contracts';
import type { SimilarityJudgement } from '../matching/track-matcher';
import type { Embedder } from './embedder';
import { SimilarityCalibrator, type SimilarityCalibratorOptions, type SimilarityQuery } from './similarity-calibrator';

export interface FrameSimilarityOptions {
  embedder: Embedder;
  calibration?: SimilarityCalibratorOptions;
  /** A camera's frame is embedded at most this often; frames in between reuse its last judgement. Default 1000 ms. */
  intervalMs?: number;
}

export interface FrameSimilarityStats {
  embeddedFrames: number;
  reusedFrames: number;
  failures: number;
  /** Embedding time of the last frame, ms. */
  lastEmbedMs: number;
  queries: number;
}

/** A frame embedding made on the way, for the store (backtests replay similarity from these). */
export interface FrameEmbedding {
  camera: string;
  frameId: string;
  capturedAt: number;
  model: string;
  vector: Float32Array;
}

/**
 * The similarity term of standing queries, live: embeds a camera's redacted frame (at most once per
 * interval, and only on cameras an armed similarity query covers), judges it against each such
 * query with the calibrator, and hands the judgements to the matcher. Text embeddings are cached by text.
 * It does not own the embedder (a process may share one between matching and backtests).
 */
export class FrameSimilarity {
  readonly calibrator: SimilarityCalibrator;
  readonly #o: FrameSimilarityOptions;
  #queries: { id: string; cameras: readonly string[] | undefined; text: string }[] = [];
  readonly #texts = new Map<string, Float32Array>();
  readonly #last = new Map<string, { at: number; judgements: Map<string, SimilarityJudgement> }>();
  #stats: FrameSimilarityStats = { embeddedFrames: 0, reusedFrames: 0, failures: 0, lastEmbedMs: 0, queries: 0 };

  constructor(options: FrameSimilarityOptions) {
    this.#o = options;
    this.calibrator = new SimilarityCalibrator(`${options.embedder.name}@${options.embedder.version}`, options.calibration);
  }

  get model(): string {
    return `${this.#o.embedder.name}@${this.#o.embedder.version}`;
  }

  /** Takes the armed queries; embeds the texts of new similarity terms. */
  async setQueries(queries: readonly StandingQuery[]): Promise<void> {
    const withTerm = queries.filter((q) => q.armed && q.plan.similarity);
    const missing = [...new Set(withTerm.map((q) => q.plan.similarity!.text))].filter((t) => !this.#texts.has(t));
    if (missing.length > 0) {
      const vectors = await this.#o.embedder.embedTexts(missing);
      missing.forEach((t, i) => this.#texts.set(t, vectors[i]!));
    }
    this.#queries = withTerm.map((q) => ({ id: q.id, cameras: q.plan.cameras, text: q.plan.similarity!.text }));
    this.#stats.queries = this.#queries.length;
  }

  /**
   * The judgements of this frame, or undefined when no armed similarity query covers the camera.
   * `embedded` is the frame's embedding when one was made (for the store).
   */
  async judge(camera: string, frameId: string, capturedAt: number, jpeg: Uint8Array | undefined): Promise<{ judgements: Map<string, SimilarityJudgement>; embedded: FrameEmbedding | null } | undefined> {
    const relevant: SimilarityQuery[] = [];
    for (const q of this.#queries) {
      if (q.cameras && !q.cameras.includes(camera)) continue;
      const vector = this.#texts.get(q.text);
      if (vector) relevant.push({ id: q.id, vector });
    }
    if (relevant.length === 0) return undefined;
    const last = this.#last.get(camera);
    const interval = this.#o.intervalMs ?? 1000;
    const covered = last && relevant.every((q) => last.judgements.has(q.id));
    if (!jpeg || (last && covered && capturedAt - last.at < interval && capturedAt >= last.at)) {
      this.#stats.reusedFrames++;
      return { judgements: last?.judgements ?? new Map(), embedded: null };
    }
    const t0 = performance.now();
    let vector: Float32Array;
    try {
      const [v] = await this.#o.embedder.embedImages([jpeg]);
      if (!v) throw new Error('the embedder returned no vector');
      vector = v;
    } catch (e) {
      // The term cannot hold without a score; the structured part of other queries goes on.
      this.#stats.failures++;
      throw e;
    }
    this.#stats.lastEmbedMs = performance.now() - t0;
    this.#stats.embeddedFrames++;
    const judgements = this.calibrator.judge(camera, vector, relevant);
    this.#last.set(camera, { at: capturedAt, judgements });
    return { judgements, embedded: { camera, frameId, capturedAt, model: this.model, vector } };
  }

  toJSON(): FrameSimilarityStats {
    return { ...this.#stats };
  }
}
