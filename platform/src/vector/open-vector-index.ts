import { join } from 'node:path';
import type { Env } from '../env';
import { QdrantVectorIndex } from './qdrant-vector-index';
import { UsearchVectorIndex } from './usearch-vector-index';
import type { VectorIndex } from './vector-index';

type VectorEnv = Pick<Env, 'MODE' | 'DATA_DIR' | 'BUS_PREFIX' | 'VECTOR_INDEX' | 'QDRANT_URL' | 'QDRANT_API_KEY'>;

/** A file- and collection-safe name for an embedding model (vectors of different models never mix). */
export function modelSlug(model: string): string {
  return model
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 80);
}

/**
 * The keyframe index for one embedding model, as the env asks: usearch under DATA_DIR/vectors/<model>
 * or a Qdrant collection `<BUS_PREFIX>_keyframes_<model>`. Null when this process cannot share it:
 * usearch in distributed mode (each process would keep its own file; use VECTOR_INDEX=qdrant).
 */
export async function openKeyframeIndex(e: VectorEnv, model: string, dimensions: number): Promise<VectorIndex | null> {
  const slug = modelSlug(model);
  if (e.VECTOR_INDEX === 'qdrant') {
    return QdrantVectorIndex.open({ url: e.QDRANT_URL ?? '', ...(e.QDRANT_API_KEY ? { apiKey: e.QDRANT_API_KEY } : {}), collection: `${e.BUS_PREFIX}_keyframes_${slug}`, dimensions });
  }
  if (e.MODE === 'distributed') return null;
  return UsearchVectorIndex.open({ dir: join(e.DATA_DIR, 'vectors', slug), dimensions });
}
