import type { Env } from '@chronotrace/platform';
import { BedrockNovaEmbedder, type NOVA_DIMENSIONS } from './bedrock-nova-embedder';
import { ClipOnnxEmbedder } from './clip-onnx-embedder';
import type { Embedder } from './embedder';
import { FrameSimilarity } from './frame-similarity';
import type { SimilarityCalibratorOptions } from './similarity-calibrator';

type EmbedderEnv = Pick<Env, 'EMBEDDER' | 'CLIP_MODEL_DIR' | 'BEDROCK_REGION' | 'BEDROCK_MODEL_ID' | 'BEDROCK_ENDPOINT' | 'BEDROCK_DIMENSIONS'>;

/** The embedder the validated env asks for, or null when EMBEDDER=off. */
export async function openEmbedder(e: EmbedderEnv): Promise<Embedder | null> {
  switch (e.EMBEDDER) {
    case 'off':
      return null;
    case 'clip-onnx':
      return ClipOnnxEmbedder.open({ modelDir: e.CLIP_MODEL_DIR ?? '' });
    case 'bedrock-nova':
      return new BedrockNovaEmbedder({
        region: e.BEDROCK_REGION ?? '',
        modelId: e.BEDROCK_MODEL_ID,
        dimensions: Number(e.BEDROCK_DIMENSIONS) as (typeof NOVA_DIMENSIONS)[number],
        ...(e.BEDROCK_ENDPOINT ? { endpoint: e.BEDROCK_ENDPOINT } : {}),
      });
  }
}

/** Calibration settings from the env. */
export function calibrationOf(e: Pick<Env, 'SIMILARITY_PERCENTILE' | 'SIMILARITY_WINDOW_FRAMES'>): SimilarityCalibratorOptions {
  return { percentile: e.SIMILARITY_PERCENTILE, windowFrames: e.SIMILARITY_WINDOW_FRAMES };
}

/** The live similarity term for an open embedder. */
export function frameSimilarityOf(embedder: Embedder, e: Pick<Env, 'SIMILARITY_PERCENTILE' | 'SIMILARITY_WINDOW_FRAMES' | 'EMBED_INTERVAL_MS'>): FrameSimilarity {
  return new FrameSimilarity({ embedder, calibration: calibrationOf(e), intervalMs: e.EMBED_INTERVAL_MS });
}
