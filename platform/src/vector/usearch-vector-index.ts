import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import usearch from 'usearch';
import { checkVectors, VectorIndexError, type VectorHit, type VectorIndex, type VectorItem, type VectorQuery } from './vector-index';

const { Index, MetricKind, ScalarKind } = usearch;

interface Meta {
  id: string;
  camera: string;
  at: number;
}

/** A filter matching at most this many vectors is answered exactly (a scan of those), not through the graph. */
const EXACT_BELOW = 4096;

export interface UsearchVectorIndexOptions {
  /** Folder of the index files (created); absent: in memory only. */
  dir?: string;
  dimensions: number;
  /** HNSW connectivity. Default 16. */
  connectivity?: number;
}

/**
 * The embedded VectorIndex: an HNSW index (usearch, cosine) in memory, saved to `dir` on flush and
 * close with its metadata (id, camera, capture time per key) and the raw vectors (for exact answers
 * to selective filters) beside it, each written atomically. Filters (cameras,
 * time) are applied to an oversampled candidate list, widened until k hits pass or the index is exhausted.
 */
export class UsearchVectorIndex implements VectorIndex {
  readonly kind = 'usearch' as const;
  private readonly index: InstanceType<typeof Index>;
  private readonly meta = new Map<bigint, Meta>();
  private readonly keyOf = new Map<string, bigint>();
  /** The vectors themselves (unit length), for exact answers to selective filters; saved beside the graph. */
  private readonly vectors = new Map<bigint, Float32Array>();
  private next = 1n;
  private closed = false;
  /** Writes since the last save. */
  private dirty = false;
  private saving: Promise<void> | null = null;

  private constructor(private readonly o: UsearchVectorIndexOptions) {
    // expansion 0: usearch's defaults (expansion_add 128, expansion_search 64).
    this.index = new Index({ metric: MetricKind.Cos, quantization: ScalarKind.F32, connectivity: o.connectivity ?? 16, dimensions: o.dimensions, expansion_add: 0, expansion_search: 0, multi: false });
  }

  get dimensions(): number {
    return this.o.dimensions;
  }

  static async open(o: UsearchVectorIndexOptions): Promise<UsearchVectorIndex> {
    if (!Number.isInteger(o.dimensions) || o.dimensions < 1) throw new VectorIndexError(`dimensions must be a positive integer, got ${o.dimensions}`);
    const v = new UsearchVectorIndex(o);
    if (o.dir) {
      await mkdir(o.dir, { recursive: true });
      const file = join(o.dir, 'vectors.usearch');
      const metaFile = join(o.dir, 'vectors.meta.json');
      if (existsSync(file) && existsSync(metaFile)) {
        const saved = JSON.parse(await readFile(metaFile, 'utf8')) as { dimensions: number; next: string; items: [string, Meta][] };
        if (saved.dimensions !== o.dimensions) throw new VectorIndexError(`the index in ${o.dir} has ${saved.dimensions} dimensions, not ${o.dimensions}`);
        v.index.load(file);
        for (const [k, m] of saved.items) {
          v.meta.set(BigInt(k), m);
          v.keyOf.set(m.id, BigInt(k));
        }
        v.next = BigInt(saved.next);
        // The raw vectors, in the metadata's order (absent or of another length: the graph alone answers).
        const raw = join(o.dir, 'vectors.f32');
        if (existsSync(raw)) {
          const buf = await readFile(raw);
          if (buf.byteLength === saved.items.length * o.dimensions * 4) {
            const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
            saved.items.forEach(([k], i) => v.vectors.set(BigInt(k), all.slice(i * o.dimensions, (i + 1) * o.dimensions)));
          }
        }
      }
    }
    return v;
  }

  async upsert(items: readonly VectorItem[]): Promise<void> {
    this.open();
    checkVectors(this.o.dimensions, items.map((i) => i.vector));
    for (const it of items) {
      const old = this.keyOf.get(it.id);
      if (old !== undefined) {
        this.index.remove(old);
        this.meta.delete(old);
        this.vectors.delete(old);
      }
      const key = this.next++;
      this.index.add(key, it.vector);
      this.vectors.set(key, unit(it.vector));
      this.meta.set(key, { id: it.id, camera: it.camera, at: it.at });
      this.keyOf.set(it.id, key);
    }
    if (items.length > 0) this.dirty = true;
  }

  async search(vector: Float32Array, q: VectorQuery): Promise<VectorHit[]> {
    this.open();
    checkVectors(this.o.dimensions, [vector]);
    const total = this.meta.size;
    if (total === 0 || q.k <= 0) return [];
    const cameras = q.cameras ? new Set(q.cameras) : null;
    const pass = (m: Meta): boolean => (!cameras || cameras.has(m.camera)) && (q.from === undefined || m.at >= q.from) && (q.to === undefined || m.at < q.to);
    const filtered = cameras !== null || q.from !== undefined || q.to !== undefined;
    // Oversample by the filter's selectivity (counted on the metadata), so one graph search usually suffices.
    let matching = total;
    if (filtered) {
      const keys: bigint[] = [];
      for (const [k, m] of this.meta) if (pass(m)) keys.push(k);
      matching = keys.length;
      if (matching === 0) return [];
      if (matching <= EXACT_BELOW && keys.every((k) => this.vectors.has(k))) return this.exact(unit(vector), keys, q.k);
    }
    let want = Math.min(total, Math.ceil(q.k * (total / matching) * 1.5) + q.k);
    for (;;) {
      const found = this.index.search(vector, want, 0);
      const hits: VectorHit[] = [];
      for (let i = 0; i < found.keys.length; i++) {
        const m = this.meta.get(found.keys[i]!);
        if (!m || !pass(m)) continue;
        hits.push({ id: m.id, camera: m.camera, at: m.at, score: 1 - found.distances[i]! });
        if (hits.length === q.k) return hits;
      }
      if (want >= total) return hits;
      want = Math.min(total, want * 4);
    }
  }

  /** Cosine against each of `keys`, best k. */
  private exact(q: Float32Array, keys: readonly bigint[], k: number): VectorHit[] {
    const scored: { key: bigint; score: number }[] = [];
    for (const key of keys) {
      const v = this.vectors.get(key)!;
      let d = 0;
      for (let i = 0; i < v.length; i++) d += v[i]! * q[i]!;
      scored.push({ key, score: d });
    }
    scored.sort((a, b) => b.score - a.score);
    return scored.slice(0, k).map(({ key, score }) => {
      const m = this.meta.get(key)!;
      return { id: m.id, camera: m.camera, at: m.at, score };
    });
  }

  async delete(ids: readonly string[]): Promise<number> {
    this.open();
    let n = 0;
    for (const id of ids) {
      const key = this.keyOf.get(id);
      if (key === undefined) continue;
      this.index.remove(key);
      this.meta.delete(key);
      this.vectors.delete(key);
      this.keyOf.delete(id);
      n++;
    }
    if (n > 0) this.dirty = true;
    return n;
  }

  async prune(before: number): Promise<number> {
    const old = [...this.meta.values()].filter((m) => m.at < before).map((m) => m.id);
    return this.delete(old);
  }

  async count(): Promise<number> {
    return this.meta.size;
  }

  /**
   * Saves to `dir`: the graph, the raw vectors, then the metadata, each through a temporary file (the
   * metadata last, so a crash between leaves the previous metadata, which the loader checks against).
   * Saves run one at a time; a save with nothing new is skipped.
   */
  async save(): Promise<void> {
    if (!this.o.dir) return;
    while (this.saving) await this.saving;
    if (!this.dirty) return;
    this.saving = this.write(this.o.dir).finally(() => (this.saving = null));
    await this.saving;
  }

  private async write(dir: string): Promise<void> {
    this.dirty = false;
    const file = join(dir, 'vectors.usearch');
    const metaFile = join(dir, 'vectors.meta.json');
    const rawFile = join(dir, 'vectors.f32');
    const items = [...this.meta];
    const raw = new Float32Array(items.length * this.o.dimensions);
    items.forEach(([k], i) => {
      const vec = this.vectors.get(k);
      if (vec) raw.set(vec, i * this.o.dimensions);
    });
    try {
      this.index.save(`${file}.tmp`);
      await rename(`${file}.tmp`, file);
      await writeFile(`${rawFile}.tmp`, new Uint8Array(raw.buffer));
      await rename(`${rawFile}.tmp`, rawFile);
      await writeFile(`${metaFile}.tmp`, JSON.stringify({ dimensions: this.o.dimensions, next: String(this.next), items: items.map(([k, m]) => [String(k), m]) }));
      await rename(`${metaFile}.tmp`, metaFile);
    } catch (e) {
      this.dirty = true;
      throw new VectorIndexError(`could not save the vector index in ${dir}: ${(e as Error).message}`);
    }
  }

  async flush(): Promise<void> {
    this.open();
    await this.save();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.dirty ||= this.o.dir !== undefined && !existsSync(join(this.o.dir, 'vectors.meta.json'));
    await this.save();
    this.closed = true;
  }

  private open(): void {
    if (this.closed) throw new VectorIndexError('the vector index is closed');
  }
}

function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  const s = n > 0 ? 1 / Math.sqrt(n) : 0;
  return Float32Array.from(v, (x) => x * s);
}
