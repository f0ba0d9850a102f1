import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import sharp from 'sharp';
import { z } from 'zod';
import { ClipTokenizer } from './clip-tokenizer';
import { EmbedderError, normalise, type Embedder } from './embedder';

/**
 * `embedder.json` in the model folder (every field optional). The defaults are those of OpenAI's
 * CLIP ViT-B/32 exported to ONNX as two graphs (image and text towers).
 */
const clipConfigSchema = z
  .object({
    /** Image tower file. Default 'visual.onnx'. */
    visual: z.string().min(1).default('visual.onnx'),
    /** Text tower file. Default 'textual.onnx'. */
    textual: z.string().min(1).default('textual.onnx'),
    /** Square input side of the image tower. Default 224. */
    imageSize: z.number().int().min(8).max(1024).default(224),
    /** Token sequence length of the text tower. Default 77. */
    contextLength: z.number().int().min(4).max(512).default(77),
    /** Per-channel normalisation (RGB, 0..1 scale). Defaults: CLIP's. */
    mean: z.tuple([z.number(), z.number(), z.number()]).default([0.48145466, 0.4578275, 0.40821073]),
    std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).default([0.26862954, 0.26130258, 0.27577711]),
    /** Input/output names; default: each graph's first input and first output. */
    imageInput: z.string().optional(),
    imageOutput: z.string().optional(),
    textInput: z.string().optional(),
    textOutput: z.string().optional(),
    /** Text input element type. Default int64. */
    textInputType: z.enum(['int64', 'int32']).default('int64'),
  })
  .strict();

export type ClipModelConfig = z.infer<typeof clipConfigSchema>;

export interface ClipOnnxEmbedderOptions {
  /** The folder with visual.onnx, textual.onnx, vocab.json, merges.txt and optionally embedder.json. */
  modelDir: string;
  /** ONNX Runtime intra-op threads per session. Default 1 (the models share 2 cores with everything else). */
  threads?: number;
}

/**
 * A local CLIP on ONNX Runtime: nothing leaves the machine. The user points CLIP_MODEL_DIR at model
 * files they obtained; none ship with ChronoTrace and none are downloaded. Images are resized to cover
 * the square input, centre-cropped and normalised; texts tokenised with CLIP's BPE.
 */
export class ClipOnnxEmbedder implements Embedder {
  readonly name = 'clip-onnx';
  #closed = false;
  #dimensions = 0;

  private constructor(
    private readonly ort: typeof Ort,
    private readonly visual: Ort.InferenceSession,
    private readonly textual: Ort.InferenceSession,
    private readonly tokenizer: ClipTokenizer,
    private readonly config: ClipModelConfig,
    readonly version: string,
  ) {}

  get dimensions(): number {
    return this.#dimensions;
  }

  static async open(options: ClipOnnxEmbedderOptions): Promise<ClipOnnxEmbedder> {
    const dir = options.modelDir;
    const configPath = join(dir, 'embedder.json');
    let raw: unknown = {};
    if (existsSync(configPath)) {
      try {
        raw = JSON.parse(await readFile(configPath, 'utf8'));
      } catch (e) {
        throw new EmbedderError(`${configPath} is not valid JSON`, { cause: e });
      }
    }
    const parsed = clipConfigSchema.safeParse(raw);
    if (!parsed.success) {
      throw new EmbedderError(`${configPath}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    const config = parsed.data;
    const files = [config.visual, config.textual, 'vocab.json', 'merges.txt'];
    const missing = files.filter((f) => !existsSync(join(dir, f)));
    if (missing.length > 0) throw new EmbedderError(`CLIP model folder ${dir} lacks ${missing.join(', ')}`);

    let tokenizer: ClipTokenizer;
    try {
      const vocab = JSON.parse(await readFile(join(dir, 'vocab.json'), 'utf8')) as Record<string, number>;
      tokenizer = new ClipTokenizer(vocab, (await readFile(join(dir, 'merges.txt'), 'utf8')).split('\n'));
    } catch (e) {
      throw e instanceof EmbedderError ? e : new EmbedderError(`could not read the CLIP tokenizer in ${dir}`, { cause: e });
    }
    const ort: typeof Ort = await import('onnxruntime-node');
    const sessionOptions: Ort.InferenceSession.SessionOptions = { intraOpNumThreads: options.threads ?? 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
    const hash = createHash('sha256');
    const load = async (file: string): Promise<Ort.InferenceSession> => {
      const bytes = await readFile(join(dir, file));
      hash.update(bytes);
      try {
        return await ort.InferenceSession.create(bytes, sessionOptions);
      } catch (e) {
        throw new EmbedderError(`${join(dir, file)} is not a loadable ONNX model`, { cause: e });
      }
    };
    const visual = await load(config.visual);
    let textual: Ort.InferenceSession;
    try {
      textual = await load(config.textual);
    } catch (e) {
      await visual.release();
      throw e;
    }
    const embedder = new ClipOnnxEmbedder(ort, visual, textual, tokenizer, config, `sha256:${hash.digest('hex').slice(0, 16)}`);
    // The dimension is whatever the towers output; both must agree. A failed self-test releases both sessions.
    let t: Float32Array | undefined;
    let i: Float32Array | undefined;
    try {
      [t] = await embedder.embedTexts(['a photo']);
      [i] = await embedder.embedImages([await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).jpeg().toBuffer()]);
    } catch (e) {
      await embedder.close();
      throw new EmbedderError(`CLIP model in ${dir} does not run: ${(e as Error).message}`, { cause: e });
    }
    if (!t || !i || t.length !== i.length || t.length === 0) {
      await embedder.close();
      throw new EmbedderError(`CLIP towers disagree: text ${t?.length ?? 0}-d, image ${i?.length ?? 0}-d`);
    }
    embedder.#dimensions = t.length;
    return embedder;
  }

  async embedImages(jpegs: readonly Uint8Array[]): Promise<Float32Array[]> {
    this.#check();
    const s = this.config.imageSize;
    const plane = s * s;
    const out: Float32Array[] = [];
    for (const jpeg of jpegs) {
      const { data } = await sharp(jpeg).removeAlpha().resize(s, s, { fit: 'cover', position: 'centre', kernel: 'cubic' }).raw().toBuffer({ resolveWithObject: true });
      const input = new Float32Array(3 * plane);
      const { mean, std } = this.config;
      for (let p = 0; p < plane; p++) {
        for (let c = 0; c < 3; c++) input[c * plane + p] = ((data[p * 3 + c] ?? 0) / 255 - mean[c]!) / std[c]!;
      }
      const name = this.config.imageInput ?? this.visual.inputNames[0]!;
      const result = await this.visual.run({ [name]: new this.ort.Tensor('float32', input, [1, 3, s, s]) });
      out.push(normalise(this.#vector(result, this.config.imageOutput ?? this.visual.outputNames[0]!)));
    }
    return out;
  }

  async embedTexts(texts: readonly string[]): Promise<Float32Array[]> {
    this.#check();
    const n = this.config.contextLength;
    const out: Float32Array[] = [];
    for (const text of texts) {
      const ids = this.tokenizer.tokenize(text, n);
      const tensor =
        this.config.textInputType === 'int64'
          ? new this.ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [1, n])
          : new this.ort.Tensor('int32', Int32Array.from(ids), [1, n]);
      const name = this.config.textInput ?? this.textual.inputNames[0]!;
      const result = await this.textual.run({ [name]: tensor });
      out.push(normalise(this.#vector(result, this.config.textOutput ?? this.textual.outputNames[0]!)));
    }
    return out;
  }

  #vector(result: Ort.InferenceSession.OnnxValueMapType, name: string): Float32Array {
    const t = result[name];
    if (!t || !(t.data instanceof Float32Array)) throw new EmbedderError(`CLIP output "${name}" is missing or not float32`);
    // [1, D] or [D]: one vector either way.
    return new Float32Array(t.data);
  }

  #check(): void {
    if (this.#closed) throw new EmbedderError('embedder is closed');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.visual.release();
    await this.textual.release();
  }
}
