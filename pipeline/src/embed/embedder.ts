/**
 * Port: an image–text embedder. Images and texts land in one space, so a query's words can be
 * compared with a frame. Optional: ChronoTrace runs and tests fully without one.
 * Implementations: ClipOnnxEmbedder (local CLIP on ONNX Runtime), BedrockNovaEmbedder (AWS).
 */
export interface Embedder {
  /** e.g. 'clip-onnx', 'bedrock-nova'. */
  readonly name: string;
  /** The model's identity (folder checksum, model id), carried in alert evidence. */
  readonly version: string;
  readonly dimensions: number;
  /** One L2-normalised vector per JPEG (redacted frames only: this runs after the privacy boundary). */
  embedImages(jpegs: readonly Uint8Array[]): Promise<Float32Array[]>;
  /** One L2-normalised vector per text. */
  embedTexts(texts: readonly string[]): Promise<Float32Array[]>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Typed errors of the embedders (a missing model folder, a bad response), with the cause attached. */
export class EmbedderError extends Error {
  override name = 'EmbedderError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isEmbedderError(e: unknown): e is EmbedderError {
  return e instanceof EmbedderError;
}

/** Scales to unit length in place (a zero vector stays zero) and returns it. */
export function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] ?? 0) ** 2;
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] = (v[i] ?? 0) / n;
  return v;
}

/** Dot product: the cosine similarity of two unit vectors. */
export function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new EmbedderError(`vectors of different dimensions: ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] ?? 0) * (b[i] ?? 0);
  return s;
}
