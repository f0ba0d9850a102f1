import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BedrockNovaEmbedder, EmbedderError, dot } from '../../src/index';

/*
 * The AWS SDK's own client talks to a Bedrock-shaped endpoint on loopback (the network reaches no
 * AWS here): the request is the real signed InvokeModel call, the answers follow Nova's schema.
 */
interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
  body: { schemaVersion: string; taskType: string; singleEmbeddingParams: { embeddingDimension: number; embeddingPurpose: string; text?: { value: string }; image?: { format: string; source: { bytes: string } } } };
}

const seen: Seen[] = [];
let answer: (s: Seen) => { status: number; body: unknown } = () => ({ status: 500, body: {} });
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = { path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Seen['body'] };
      seen.push(s);
      const a = answer(s);
      res.writeHead(a.status, { 'content-type': 'application/json', ...(a.status >= 400 ? { 'x-amzn-errortype': 'ValidationException' } : {}) }).end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

const embedder = (): BedrockNovaEmbedder =>
  new BedrockNovaEmbedder({ region: 'eu-west-1', endpoint, dimensions: 256, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } });

describe('BedrockNovaEmbedder', () => {
  it('sends signed InvokeModel requests in Nova\'s schema for images and texts and returns unit vectors', async () => {
    answer = (s) => ({ status: 200, body: { embeddings: [{ embeddingType: s.body.singleEmbeddingParams.text ? 'TEXT' : 'IMAGE', embedding: Array.from({ length: 256 }, (_, i) => (i === 0 ? 3 : i === 1 ? 4 : 0)) }] } });
    const e = embedder();
    try {
      const jpeg = new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);
      const [img] = await e.embedImages([jpeg]);
      const [txt] = await e.embedTexts(['person carrying a ladder']);
      expect(img).toHaveLength(256);
      expect(img![0]).toBeCloseTo(0.6);
      expect(img![1]).toBeCloseTo(0.8);
      expect(dot(img!, txt!)).toBeCloseTo(1);
      const [a, b] = seen.slice(-2);
      expect(a!.path).toBe(`/model/${encodeURIComponent('amazon.nova-2-multimodal-embeddings-v1:0')}/invoke`);
      expect(String(a!.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/bedrock\/aws4_request/);
      expect(a!.body).toMatchObject({ schemaVersion: 'nova-multimodal-embed-v1', taskType: 'SINGLE_EMBEDDING', singleEmbeddingParams: { embeddingDimension: 256, embeddingPurpose: 'GENERIC_INDEX', image: { format: 'jpeg' } } });
      expect(Buffer.from(a!.body.singleEmbeddingParams.image!.source.bytes, 'base64')).toEqual(Buffer.from(jpeg));
      expect(b!.body.singleEmbeddingParams).toMatchObject({ embeddingPurpose: 'GENERIC_RETRIEVAL', text: { value: 'person carrying a ladder' } });
      expect(e.version).toBe('amazon.nova-2-multimodal-embeddings-v1:0/256');
    } finally {
      await e.close();
    }
  });

  it('turns a refusal, a malformed answer or a wrong dimension into an EmbedderError', async () => {
    const e = embedder();
    try {
      answer = () => ({ status: 400, body: { message: 'Malformed input request' } });
      await expect(e.embedTexts(['x'])).rejects.toThrow(EmbedderError);
      await expect(e.embedTexts(['x'])).rejects.toThrow(/refused a text embedding/);
      answer = () => ({ status: 200, body: { embeddings: [{ embedding: [1, 2, 3] }] } });
      await expect(e.embedTexts(['x'])).rejects.toThrow(/without a 256-d embedding/);
      answer = () => ({ status: 200, body: { nothing: true } });
      await expect(e.embedImages([new Uint8Array([1])])).rejects.toThrow(/without a 256-d embedding/);
    } finally {
      await e.close();
    }
    await expect(e.embedTexts(['x'])).rejects.toThrow(/closed/);
    expect(() => new BedrockNovaEmbedder({ region: 'eu-west-1', dimensions: 512 as 256 })).toThrow(/dimensions/);
  });
});
