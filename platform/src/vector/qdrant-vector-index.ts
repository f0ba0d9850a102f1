import { createHash } from 'node:crypto';
import { QdrantClient } from '@qdrant/js-client-rest';
import { checkVectors, VectorIndexError, type VectorHit, type VectorIndex, type VectorItem, type VectorQuery } from './vector-index';

export interface QdrantVectorIndexOptions {
  url: string;
  apiKey?: string;
  /** Collection name (created when missing). */
  collection: string;
  dimensions: number;
}

/** Qdrant wants unsigned integers or UUIDs as point ids: a UUID made from the item id (SHA-1, version 5 layout). */
export function pointId(id: string): string {
  const h = createHash('sha1').update(`chronotrace:${id}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** The distributed VectorIndex: a Qdrant collection (cosine) with camera and capture time as indexed payload. */
export class QdrantVectorIndex implements VectorIndex {
  readonly kind = 'qdrant' as const;

  private constructor(
    private readonly client: QdrantClient,
    private readonly o: QdrantVectorIndexOptions,
  ) {}

  get dimensions(): number {
    return this.o.dimensions;
  }

  static async open(o: QdrantVectorIndexOptions): Promise<QdrantVectorIndex> {
    const client = new QdrantClient({ url: o.url, ...(o.apiKey ? { apiKey: o.apiKey } : {}), checkCompatibility: false });
    const exists = (await client.getCollections()).collections.some((c) => c.name === o.collection);
    if (!exists) {
      await client.createCollection(o.collection, { vectors: { size: o.dimensions, distance: 'Cosine' } });
      await client.createPayloadIndex(o.collection, { field_name: 'camera', field_schema: 'keyword', wait: true });
      await client.createPayloadIndex(o.collection, { field_name: 'at', field_schema: 'integer', wait: true });
    } else {
      const info = await client.getCollection(o.collection);
      const vectors = info.config.params.vectors as { size?: number } | undefined;
      if (vectors?.size !== undefined && vectors.size !== o.dimensions) throw new VectorIndexError(`collection ${o.collection} has ${vectors.size} dimensions, not ${o.dimensions}`);
    }
    return new QdrantVectorIndex(client, o);
  }

  async upsert(items: readonly VectorItem[]): Promise<void> {
    if (items.length === 0) return;
    checkVectors(this.o.dimensions, items.map((i) => i.vector));
    await this.client.upsert(this.o.collection, {
      wait: true,
      points: items.map((i) => ({ id: pointId(i.id), vector: Array.from(i.vector), payload: { id: i.id, camera: i.camera, at: i.at } })),
    });
  }

  async search(vector: Float32Array, q: VectorQuery): Promise<VectorHit[]> {
    checkVectors(this.o.dimensions, [vector]);
    const must: Record<string, unknown>[] = [];
    if (q.cameras) must.push({ key: 'camera', match: { any: [...q.cameras] } });
    if (q.from !== undefined || q.to !== undefined) must.push({ key: 'at', range: { ...(q.from !== undefined ? { gte: q.from } : {}), ...(q.to !== undefined ? { lt: q.to } : {}) } });
    const res = await this.client.search(this.o.collection, { vector: Array.from(vector), limit: q.k, with_payload: true, ...(must.length ? { filter: { must } } : {}) } as Parameters<QdrantClient['search']>[1]);
    return res.map((p) => {
      const pl = p.payload as { id: string; camera: string; at: number };
      return { id: pl.id, camera: pl.camera, at: pl.at, score: p.score };
    });
  }

  async delete(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const found = await this.client.retrieve(this.o.collection, { ids: ids.map(pointId), with_payload: false, with_vector: false });
    if (found.length) await this.client.delete(this.o.collection, { wait: true, points: found.map((p) => p.id) });
    return found.length;
  }

  async prune(before: number): Promise<number> {
    const filter = { must: [{ key: 'at', range: { lt: before } }] };
    const { count } = await this.client.count(this.o.collection, { filter, exact: true });
    if (count > 0) await this.client.delete(this.o.collection, { wait: true, filter });
    return count;
  }

  async count(): Promise<number> {
    return (await this.client.count(this.o.collection, { exact: true })).count;
  }

  async flush(): Promise<void> {
    /* every write waited for Qdrant's acknowledgement */
  }

  async close(): Promise<void> {
    /* the REST client holds no connection */
  }
}
