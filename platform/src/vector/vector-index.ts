/** One stored vector: a keyframe's embedding, with what filters need. */
export interface VectorItem {
  /** Unique id, e.g. the frame id. */
  id: string;
  camera: string;
  /** Capture time, ms epoch. */
  at: number;
  vector: Float32Array;
}

export interface VectorQuery {
  /** Nearest this many. */
  k: number;
  /** Only these cameras; absent: all. */
  cameras?: readonly string[];
  /** Only from ≤ at < to. */
  from?: number;
  to?: number;
}

export interface VectorHit {
  id: string;
  camera: string;
  at: number;
  /** Cosine similarity, -1..1. */
  score: number;
}

/**
 * Port: nearest-neighbour search over keyframe embeddings (cosine). Implementations: UsearchVectorIndex
 * (embedded, on disk) and QdrantVectorIndex (a Qdrant server); one contract suite.
 */
export interface VectorIndex {
  readonly kind: 'usearch' | 'qdrant';
  readonly dimensions: number;
  /** Insert or replace by id. Vectors must have `dimensions` numbers. */
  upsert(items: readonly VectorItem[]): Promise<void>;
  /** Best first. */
  search(vector: Float32Array, query: VectorQuery): Promise<VectorHit[]>;
  /** Deletes by id; returns how many there were. */
  delete(ids: readonly string[]): Promise<number>;
  /** Deletes every vector captured before `before`; returns how many. */
  prune(before: number): Promise<number>;
  count(): Promise<number>;
  /** Makes the writes so far durable (embedded: saved to disk; Qdrant: writes are already acknowledged). */
  flush(): Promise<void>;
  /** Persists (embedded) and releases. Idempotent. */
  close(): Promise<void>;
}

export class VectorIndexError extends Error {
  override name = 'VectorIndexError';
}

/** Throws VectorIndexError unless every vector has `dimensions` finite numbers. */
export function checkVectors(dimensions: number, vectors: readonly Float32Array[]): void {
  for (const v of vectors) {
    if (v.length !== dimensions) throw new VectorIndexError(`a vector has ${v.length} dimensions, the index ${dimensions}`);
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) throw new VectorIndexError('a vector holds a non-finite number');
  }
}
