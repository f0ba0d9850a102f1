import { describe, expect, it } from 'vitest';
import { EnvError, analyticsPartitionOf, matcherOptionsOf, natsAuthOf, parseEnv } from '../src/env';

function problems(source: Record<string, string>): string[] {
  try {
    parseEnv(source);
  } catch (e) {
    if (e instanceof EnvError) return e.details;
    throw e;
  }
  return [];
}

describe('environment of matching, webhooks and the embedder', () => {
  it('defaults to 2-of-3 hysteresis, a 60 s cooldown, one analytics partition and no embedder', () => {
    const e = parseEnv({});
    expect(matcherOptionsOf(e)).toEqual({ hysteresis: { n: 2, m: 3 }, cooldownMs: 60_000 });
    expect(analyticsPartitionOf(e)).toEqual({ index: 0, count: 1 });
    expect(e.EMBEDDER).toBe('off');
    expect(e.WEBHOOK_MAX_ATTEMPTS).toBe(8);
    expect(parseEnv({ MATCH_HYSTERESIS: '3/5', ANALYTICS_PARTITION: '2/4', PUBLIC_URL: 'https://wall.example.org/' })).toMatchObject({ MATCH_HYSTERESIS: '3/5', ANALYTICS_PARTITION: '2/4', PUBLIC_URL: 'https://wall.example.org' });
  });

  it('names every bad variable at once', () => {
    const p = problems({ MATCH_HYSTERESIS: '5/3', ANALYTICS_PARTITION: '3/3', WEBHOOK_MAX_ATTEMPTS: '0', EMBEDDER: 'clip-onnx', SIMILARITY_PERCENTILE: '100', PUBLIC_URL: 'wall', MEDIA_URL: 'ingest:8081', WEBRTC_ADDRESS: 'localhost', WEBRTC_PORT_RANGE: '5000-4000' });
    for (const name of ['MATCH_HYSTERESIS', 'ANALYTICS_PARTITION', 'WEBHOOK_MAX_ATTEMPTS', 'SIMILARITY_PERCENTILE', 'PUBLIC_URL', 'MEDIA_URL', 'WEBRTC_ADDRESS', 'WEBRTC_PORT_RANGE']) expect(p.some((d) => d.startsWith(`${name}:`)), name).toBe(true);
  });

  it('asks for the model folder or the region the chosen embedder needs', () => {
    expect(problems({ EMBEDDER: 'clip-onnx' })).toEqual(['CLIP_MODEL_DIR: required when EMBEDDER=clip-onnx']);
    expect(problems({ EMBEDDER: 'bedrock-nova' })).toEqual(['BEDROCK_REGION: required when EMBEDDER=bedrock-nova']);
    expect(problems({ VECTOR_INDEX: 'qdrant' })).toEqual(['QDRANT_URL: required when VECTOR_INDEX=qdrant']);
    expect(problems({ VECTOR_INDEX: 'faiss', QDRANT_URL: 'qdrant:6333' }).map((p) => p.split(':')[0])).toEqual(['VECTOR_INDEX', 'QDRANT_URL']);
    expect(problems({ EMBEDDER: 'bedrock-nova', BEDROCK_REGION: 'mars' })[0]).toMatch(/^BEDROCK_REGION: must be an AWS region/);
    expect(problems({ EMBEDDER: 'bedrock-nova', BEDROCK_REGION: 'eu-west-1' })).toEqual([]);
  });

  it('distributed mode needs NATS credentials unless anonymous access is asked for by name', () => {
    expect(problems({ MODE: 'distributed' })).toEqual([
      'NATS_USER: distributed mode needs NATS credentials (NATS_USER and NATS_PASSWORD, or NATS_TOKEN); NATS_ALLOW_ANONYMOUS=true connects without them',
    ]);
    expect(problems({ MODE: 'distributed', NATS_USER: 'ct' })).toEqual(['NATS_PASSWORD: NATS_USER and NATS_PASSWORD go together']);
    expect(problems({ MODE: 'distributed', NATS_TOKEN: 'short' })).toEqual(['NATS_TOKEN: must be at least 8 characters']);
    expect(problems({ NATS_TOKEN: 'long-enough', NATS_USER: 'ct', NATS_PASSWORD: 'pw' })).toEqual(['NATS_TOKEN: give NATS_TOKEN or NATS_USER/NATS_PASSWORD, not both']);
    expect(natsAuthOf(parseEnv({ MODE: 'distributed', NATS_USER: 'ct', NATS_PASSWORD: 'pw' }))).toEqual({ user: 'ct', pass: 'pw' });
    expect(natsAuthOf(parseEnv({ MODE: 'distributed', NATS_TOKEN: 'long-enough' }))).toEqual({ token: 'long-enough' });
    expect(natsAuthOf(parseEnv({ MODE: 'distributed', NATS_ALLOW_ANONYMOUS: 'true' }))).toEqual({});
    // Embedded mode has no NATS.
    expect(problems({})).toEqual([]);
  });
});
