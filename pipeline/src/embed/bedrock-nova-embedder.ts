import { BedrockRuntimeClient, InvokeModelCommand, type BedrockRuntimeClientConfig } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { EmbedderError, normalise, type Embedder } from './embedder';

export const DEFAULT_NOVA_MODEL_ID = 'amazon.nova-2-multimodal-embeddings-v1:0';
export const NOVA_DIMENSIONS = [256, 384, 1024, 3072] as const;

export interface BedrockNovaEmbedderOptions {
  /** AWS region. Required (no default region: the data leaves the site for that region). */
  region: string;
  /** Default DEFAULT_NOVA_MODEL_ID. */
  modelId?: string;
  /** 256, 384, 1024 or 3072. Default 1024. */
  dimensions?: (typeof NOVA_DIMENSIONS)[number];
  /** A Bedrock-compatible endpoint (VPC endpoint, proxy). Default: AWS's for the region. */
  endpoint?: string;
  /** Default: the AWS SDK's credential chain (env, profile, instance role). */
  credentials?: BedrockRuntimeClientConfig['credentials'];
  /** Per-request timeout. Default 10 000 ms. */
  timeoutMs?: number;
}

interface NovaResponse {
  embeddings?: { embeddingType?: string; embedding?: number[] }[];
}

/**
 * Amazon Nova multimodal embeddings on AWS Bedrock (InvokeModel, synchronous). Frames are sent as
 * JPEG — redacted frames only, this runs after the privacy boundary — and texts as queries; both
 * land in one space. Opt-in: frames leave the site, so it is never a default.
 */
export class BedrockNovaEmbedder implements Embedder {
  readonly name = 'bedrock-nova';
  readonly version: string;
  readonly dimensions: number;
  readonly #client: BedrockRuntimeClient;
  readonly #modelId: string;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(o: BedrockNovaEmbedderOptions) {
    this.#modelId = o.modelId ?? DEFAULT_NOVA_MODEL_ID;
    this.dimensions = o.dimensions ?? 1024;
    if (!(NOVA_DIMENSIONS as readonly number[]).includes(this.dimensions)) throw new EmbedderError(`Nova embeddings come in ${NOVA_DIMENSIONS.join(', ')} dimensions, not ${this.dimensions}`);
    this.version = `${this.#modelId}/${this.dimensions}`;
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#client = new BedrockRuntimeClient({
      region: o.region,
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      ...(o.credentials ? { credentials: o.credentials } : {}),
      maxAttempts: 2,
      // HTTP/1.1: InvokeModel needs no streams, and it works through ordinary proxies and VPC endpoints.
      requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: this.#timeoutMs }),
    });
  }

  embedImages(jpegs: readonly Uint8Array[]): Promise<Float32Array[]> {
    return Promise.all(
      jpegs.map((jpeg) =>
        this.#invoke('IMAGE', {
          embeddingPurpose: 'GENERIC_INDEX',
          image: { detailLevel: 'STANDARD_IMAGE', format: 'jpeg', source: { bytes: Buffer.from(jpeg).toString('base64') } },
        }),
      ),
    );
  }

  embedTexts(texts: readonly string[]): Promise<Float32Array[]> {
    return Promise.all(texts.map((text) => this.#invoke('TEXT', { embeddingPurpose: 'GENERIC_RETRIEVAL', text: { truncationMode: 'END', value: text } })));
  }

  async #invoke(kind: 'TEXT' | 'IMAGE', params: Record<string, unknown>): Promise<Float32Array> {
    if (this.#closed) throw new EmbedderError('embedder is closed');
    const body = JSON.stringify({ schemaVersion: 'nova-multimodal-embed-v1', taskType: 'SINGLE_EMBEDDING', singleEmbeddingParams: { embeddingDimension: this.dimensions, ...params } });
    let raw: Uint8Array | undefined;
    try {
      const res = await this.#client.send(new InvokeModelCommand({ modelId: this.#modelId, contentType: 'application/json', accept: 'application/json', body }), {
        abortSignal: AbortSignal.timeout(this.#timeoutMs),
      });
      raw = res.body;
    } catch (e) {
      throw new EmbedderError(`Bedrock ${this.#modelId} refused a ${kind.toLowerCase()} embedding: ${(e as Error).message}`, { cause: e });
    }
    let parsed: NovaResponse;
    try {
      parsed = JSON.parse(new TextDecoder().decode(raw)) as NovaResponse;
    } catch (e) {
      throw new EmbedderError(`Bedrock ${this.#modelId} answered with something that is not JSON`, { cause: e });
    }
    const v = parsed.embeddings?.[0]?.embedding;
    if (!Array.isArray(v) || v.length !== this.dimensions || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new EmbedderError(`Bedrock ${this.#modelId} answered without a ${this.dimensions}-d embedding`);
    }
    return normalise(Float32Array.from(v));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.destroy();
  }
}
