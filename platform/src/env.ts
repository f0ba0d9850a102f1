import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { formatIssues } from '@chronotrace/contracts';

const baseEnvSchema = z.object({
  /** HTTP port of the wall and API. Default 8080. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Interface to listen on. Default 127.0.0.1. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Path of the streams config. Default ./streams.config.ts. */
  CHRONOTRACE_CONFIG: z.string().min(1).default('streams.config.ts'),
  /** embedded: one process, in-process bus, PGlite. distributed: NATS, PostgreSQL, Redis. */
  MODE: z.enum(['embedded', 'distributed']).default('embedded'),
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  /** NATS user and password (distributed mode; both or neither). Raw frames travel on NATS: never run it open on a network. */
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  /** A NATS token instead of user and password. */
  NATS_TOKEN: z.string().min(8, 'must be at least 8 characters').optional(),
  /**
   * true: connect to NATS without credentials (a broker bound to loopback on a one-machine deployment, or
   * tests). Without it distributed mode refuses to start with no credentials. Default false.
   */
  NATS_ALLOW_ANONYMOUS: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** npm run start:distributed: privacy processes to run (each runs PRIVACY_REPLICAS frames at once). Default 2. */
  PRIVACY_PROCESSES: z.coerce.number().int().min(1).max(32).default(2),
  /** npm run start:distributed: analytics processes, one camera partition each. Default 1. */
  ANALYTICS_PROCESSES: z.coerce.number().int().min(1).max(64).default(1),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').default('postgres://postgres@127.0.0.1:5432/test'),
  /** PostgreSQL schema for ChronoTrace's tables (distributed mode). Default: the server's search_path (public). */
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').default('redis://127.0.0.1:6379'),
  /** Embedded database and media folder. Default ./data. */
  DATA_DIR: z.string().min(1).default('data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Prefix for stream and durable names, so several deployments (or test runs) share one NATS. Default 'CT'. */
  BUS_PREFIX: z.string().regex(/^[A-Za-z0-9_]{1,32}$/).default('CT'),
  /** Face model of the privacy stage: BlazeFace (back 256 px on the whole frame and tiles, front 128 px on head regions), on ONNX Runtime. */
  PRIVACY_FACE_MODEL: z.enum(['blazeface']).default('blazeface'),
  /**
   * Frames this process's privacy stage redacts at once (each runs its face, person and text models in
   * parallel threads). Default: half the cores, 1 to 4 — measured on 2 cores, two at once gained 15 %
   * throughput but cost 40 % latency, as each frame's three models already share the cores.
   */
  PRIVACY_REPLICAS: z.coerce.number().int().min(1).max(8).default(Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2)))),
  /** Person/object detection inside the privacy boundary (head regions redacted, COCO objects in the metadata), motion-gated. off = faces and text only. */
  PRIVACY_OBJECT_DETECTION: z.enum(['on', 'off']).default('on'),
  /** Standing-query hysteresis: a match needs the conditions on N of the last M frames of a track, as `N/M`. Default 2/3. */
  MATCH_HYSTERESIS: z
    .string()
    .regex(/^\d{1,2}\/\d{1,2}$/, 'must be N/M, e.g. 2/3')
    .refine((s) => {
      const [n, m] = s.split('/').map(Number);
      return n !== undefined && m !== undefined && n >= 1 && n <= m && m <= 32;
    }, 'needs 1 ≤ N ≤ M ≤ 32')
    .default('2/3'),
  /** After an alert, the same query stays quiet on the same camera this long (seconds). Default 60. */
  MATCH_COOLDOWN_S: z.coerce.number().min(0).max(86_400).default(60),
  /** Which cameras this analytics process (tracking + matching) owns, as `i/n`: camera hash mod n = i. Default 0/1 (all). */
  ANALYTICS_PARTITION: z
    .string()
    .regex(/^\d{1,2}\/\d{1,2}$/, 'must be i/n, e.g. 0/2')
    .refine((s) => {
      const [i, n] = s.split('/').map(Number);
      return i !== undefined && n !== undefined && n >= 1 && n <= 64 && i < n;
    }, 'needs 0 ≤ i < n ≤ 64')
    .default('0/1'),
  /** Redacted live video over WebRTC (WHEP; one H.264 encoder per watched camera). off: the wall shows JPEG frames only. Default on. */
  WEBRTC: z.enum(['on', 'off']).default('on'),
  /** One IPv4 address WebRTC media sockets bind to and announce (e.g. 127.0.0.1, or the LAN address). Default: every interface. */
  WEBRTC_ADDRESS: z.ipv4({ message: 'must be an IPv4 address' }).optional(),
  /** UDP ports of the WebRTC media sockets, `min-max` (open them in the firewall). Default: any free port. */
  WEBRTC_PORT_RANGE: z
    .string()
    .regex(/^\d{1,5}-\d{1,5}$/, 'must be min-max, e.g. 40000-40999')
    .refine((s) => {
      const [a, b] = s.split('-').map(Number);
      return a !== undefined && b !== undefined && a >= 1024 && a < b && b <= 65535;
    }, 'needs 1024 ≤ min < max ≤ 65535')
    .optional(),
  /** Distributed mode: the media server's HTTP port for WHIP publishers (the web proxies /whip to it). Default 8081. */
  MEDIA_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  /** Interface the media server's HTTP listens on. Default 127.0.0.1 (the web, on the same host, proxies to it). */
  MEDIA_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  /** Distributed mode: where the web process finds the media server's WHIP endpoint. Default http://127.0.0.1:8081. */
  MEDIA_URL: z.string().regex(/^https?:\/\/[^\s/]+\/?$/, 'must be an http(s):// origin, e.g. http://ingest:8081').default('http://127.0.0.1:8081'),
  /** WebRTC viewers at once per web process. Default 64. */
  WEBRTC_MAX_VIEWERS: z.coerce.number().int().min(1).max(1000).default(64),
  /** Redacted recording of every camera whose `recording.enabled` is true (the default). off: nothing is recorded. Default on. */
  RECORDING: z.enum(['on', 'off']).default('on'),
  /** Where recordings, thumbnails and exports are kept. Default DATA_DIR/media. */
  MEDIA_ROOT: z.string().min(1).optional(),
  /**
   * local: recordings and exports stay under MEDIA_ROOT. s3: they move to S3-compatible object storage
   * once written (MEDIA_ROOT is then a spool), so every process of a distributed deployment reads them. Default local.
   */
  MEDIA_STORE: z.enum(['local', 's3']).default('local'),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (3–63 lower-case letters, digits, dots, hyphens)').optional(),
  /** An S3-compatible endpoint (MinIO, Ceph, …). Absent: AWS S3 in S3_REGION. */
  S3_ENDPOINT: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s):// URL').optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  /** Key prefix inside the bucket, ending with "/". Default chronotrace/. */
  S3_PREFIX: z.string().regex(/^([A-Za-z0-9._-]+\/)*$/, 'must be path segments each ending with "/", e.g. chronotrace/').default('chronotrace/'),
  /** Static credentials; absent: the AWS SDK's usual chain (env, profile, instance role). */
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** Recording stops with a health error when the media root has less free space than this (MB). Default 1024. */
  RECORDING_MIN_FREE_MB: z.coerce.number().min(0).max(10_000_000).default(1024),
  /** Largest uploaded video (POST /api/videos), MB. Default 2048. */
  UPLOAD_MAX_MB: z.coerce.number().positive().max(1_000_000).default(2048),
  /** Longest uploaded video, seconds. Default 14 400 (4 h). */
  UPLOAD_MAX_SECONDS: z.coerce.number().positive().max(7 * 86_400).default(14_400),
  /** Frames per second taken from an uploaded video (each redacted, tracked, recorded). Default 5. */
  UPLOAD_FPS: z.coerce.number().min(0.5).max(30).default(5),
  /** Days of track summaries kept for search. Default 30. */
  SEARCH_RETENTION_DAYS: z.coerce.number().positive().max(3660).default(30),
  /** Hours of stored scene (tracks per frame) kept for backtests. Default 72. */
  SCENE_RETENTION_HOURS: z.coerce.number().positive().max(24 * 366).default(72),
  /** Public base URL of the wall (e.g. https://wall.example.org), for absolute snapshot links in webhook payloads. Default: relative links. */
  PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, 'must be an http(s):// URL')
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  /** Tries per webhook delivery before it goes to the dead letters. Default 8. */
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  /** First retry delay of a failed webhook delivery (doubles each try). Default 1000 ms. */
  WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(1000),
  /** Cap of the retry delay. Default 300 000 ms (5 min). */
  WEBHOOK_BACKOFF_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(300_000),
  /** Optional image–text embedder for the similarity term of free-text queries: off, clip-onnx (local), bedrock-nova (AWS; frames leave the site). Default off. */
  EMBEDDER: z.enum(['off', 'clip-onnx', 'bedrock-nova']).default('off'),
  /** EMBEDDER=clip-onnx: folder with visual.onnx, textual.onnx, vocab.json, merges.txt (and optionally embedder.json). */
  CLIP_MODEL_DIR: z.string().min(1).optional(),
  /** EMBEDDER=bedrock-nova: AWS region (credentials from the AWS SDK's usual chain). */
  BEDROCK_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region, e.g. eu-west-1').optional(),
  BEDROCK_MODEL_ID: z.string().min(1).default('amazon.nova-2-multimodal-embeddings-v1:0'),
  /** A Bedrock-compatible endpoint (VPC endpoint). Default: AWS's. */
  BEDROCK_ENDPOINT: z.string().regex(/^https?:\/\//, 'must be an http(s):// URL').optional(),
  /** Nova embedding size: 256, 384, 1024 or 3072. Default 1024. */
  BEDROCK_DIMENSIONS: z.enum(['256', '384', '1024', '3072']).default('1024'),
  /** A frame must score above this percentile of the query's scores on the camera's recent frames. Default 99. */
  SIMILARITY_PERCENTILE: z.coerce.number().gt(0).lt(100).default(99),
  /** Recent frames per camera the percentile is taken over. Default 256. */
  SIMILARITY_WINDOW_FRAMES: z.coerce.number().int().min(20).max(10_000).default(256),
  /** A camera's frame is embedded at most this often (only cameras a similarity query covers). Default 1000 ms. */
  EMBED_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(1000),
  /**
   * With an embedder on, each track's best view is embedded into a vector index for search: usearch
   * (on disk under DATA_DIR/vectors, embedded mode) or qdrant (a Qdrant server, QDRANT_URL; what
   * distributed mode needs, as its analytics and web processes share it). Default usearch.
   */
  VECTOR_INDEX: z.enum(['usearch', 'qdrant']).default('usearch'),
  QDRANT_URL: z.string().regex(/^https?:\/\//, 'must be an http(s):// URL').optional(),
  QDRANT_API_KEY: z.string().min(1).optional(),
});

export const envSchema = baseEnvSchema.superRefine((e, ctx) => {
  if ((e.NATS_USER === undefined) !== (e.NATS_PASSWORD === undefined)) {
    ctx.addIssue({ code: 'custom', path: [e.NATS_USER === undefined ? 'NATS_USER' : 'NATS_PASSWORD'], message: 'NATS_USER and NATS_PASSWORD go together' });
  }
  if (e.NATS_TOKEN !== undefined && e.NATS_USER !== undefined) ctx.addIssue({ code: 'custom', path: ['NATS_TOKEN'], message: 'give NATS_TOKEN or NATS_USER/NATS_PASSWORD, not both' });
  if (e.MODE === 'distributed' && e.NATS_USER === undefined && e.NATS_TOKEN === undefined && !e.NATS_ALLOW_ANONYMOUS) {
    ctx.addIssue({
      code: 'custom',
      path: ['NATS_USER'],
      message: 'distributed mode needs NATS credentials (NATS_USER and NATS_PASSWORD, or NATS_TOKEN); NATS_ALLOW_ANONYMOUS=true connects without them',
    });
  }
  if (e.EMBEDDER === 'clip-onnx' && !e.CLIP_MODEL_DIR) ctx.addIssue({ code: 'custom', path: ['CLIP_MODEL_DIR'], message: 'required when EMBEDDER=clip-onnx' });
  if (e.EMBEDDER === 'bedrock-nova' && !e.BEDROCK_REGION) ctx.addIssue({ code: 'custom', path: ['BEDROCK_REGION'], message: 'required when EMBEDDER=bedrock-nova' });
  if (e.MEDIA_STORE === 's3' && !e.S3_BUCKET) ctx.addIssue({ code: 'custom', path: ['S3_BUCKET'], message: 'required when MEDIA_STORE=s3' });
  if ((e.S3_ACCESS_KEY_ID === undefined) !== (e.S3_SECRET_ACCESS_KEY === undefined)) {
    ctx.addIssue({ code: 'custom', path: [e.S3_ACCESS_KEY_ID === undefined ? 'S3_ACCESS_KEY_ID' : 'S3_SECRET_ACCESS_KEY'], message: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together' });
  }
  if (e.VECTOR_INDEX === 'qdrant' && !e.QDRANT_URL) ctx.addIssue({ code: 'custom', path: ['QDRANT_URL'], message: 'required when VECTOR_INDEX=qdrant' });
});

/** The media root (recordings, exports). */
export function mediaRootOf(e: Pick<Env, 'MEDIA_ROOT' | 'DATA_DIR'>): string {
  return e.MEDIA_ROOT ?? `${e.DATA_DIR.replace(/\/+$/, '')}/media`;
}

/** MATCH_HYSTERESIS as numbers. */
export function hysteresisOf(e: Pick<Env, 'MATCH_HYSTERESIS'>): { n: number; m: number } {
  const [n = 2, m = 3] = e.MATCH_HYSTERESIS.split('/').map(Number);
  return { n, m };
}

/** ANALYTICS_PARTITION as numbers. */
export function analyticsPartitionOf(e: Pick<Env, 'ANALYTICS_PARTITION'>): { index: number; count: number } {
  const [index = 0, count = 1] = e.ANALYTICS_PARTITION.split('/').map(Number);
  return { index, count };
}

/** WEBRTC_ADDRESS and WEBRTC_PORT_RANGE as the media-server's network options. */
export function webRtcNetworkOf(e: Pick<Env, 'WEBRTC_ADDRESS' | 'WEBRTC_PORT_RANGE'>): { address: string | null; portRange: [number, number] | null } {
  const range = e.WEBRTC_PORT_RANGE?.split('-').map(Number);
  return { address: e.WEBRTC_ADDRESS ?? null, portRange: range && range.length === 2 ? [range[0]!, range[1]!] : null };
}

/** NATS credentials for the connection options (none when anonymous). */
export function natsAuthOf(e: Pick<Env, 'NATS_USER' | 'NATS_PASSWORD' | 'NATS_TOKEN'>): { user: string; pass: string } | { token: string } | Record<string, never> {
  if (e.NATS_USER !== undefined && e.NATS_PASSWORD !== undefined) return { user: e.NATS_USER, pass: e.NATS_PASSWORD };
  if (e.NATS_TOKEN !== undefined) return { token: e.NATS_TOKEN };
  return {};
}

/** The matcher options of the live stage, and so of backtests. */
export function matcherOptionsOf(e: Pick<Env, 'MATCH_HYSTERESIS' | 'MATCH_COOLDOWN_S'>): { hysteresis: { n: number; m: number }; cooldownMs: number } {
  return { hysteresis: hysteresisOf(e), cooldownMs: e.MATCH_COOLDOWN_S * 1000 };
}

export type Env = z.infer<typeof envSchema>;

export class EnvError extends Error {
  override name = 'EnvError';
  constructor(readonly details: string[]) {
    super(`invalid environment:\n  ${details.join('\n  ')}`);
  }
}

/** Validates the environment once; throws EnvError naming every bad variable. */
export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const r = envSchema.safeParse(source);
  if (!r.success) throw new EnvError(formatIssues(r.error.issues));
  return r.data;
}

let cached: Env | undefined;
/** The process environment, validated and cached on first use. */
export function env(): Env {
  cached ??= parseEnv();
  return cached;
}
