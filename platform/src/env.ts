import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { formatIssues } from '@chronotrace/contracts';

export const envSchema = z.object({
  /** HTTP port of the wall and API. Default 8080. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Interface to listen on. Default 127.0.0.1. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Path of the streams config. Default ./streams.config.ts. */
  CHRONOTRACE_CONFIG: z.string().min(1).default('streams.config.ts'),
  /** embedded: one process, in-process bus, PGlite. distributed: NATS, PostgreSQL, Redis. */
  MODE: z.enum(['embedded', 'distributed']).default('embedded'),
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').default('postgres://postgres@127.0.0.1:5432/test'),
  /** PostgreSQL schema for ChronoTrace's tables (distributed mode). Default: the server's search_path (public). */
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').default('redis://127.0.0.1:6379'),
  /** Embedded database and media folder. Default ./data. */
  DATA_DIR: z.string().min(1).default('data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Prefix for stream and durable names, so several deployments (or test runs) share one NATS. Default 'CT'. */
  BUS_PREFIX: z.string().regex(/^[A-Za-z0-9_]{1,32}$/).default('CT'),
  /** Face model of the privacy stage: ssd_mobilenetv1 (best recall on small faces) or tiny_face_detector (≈4× faster). */
  PRIVACY_FACE_MODEL: z.enum(['ssd_mobilenetv1', 'tiny_face_detector']).default('ssd_mobilenetv1'),
  /** Face-model threads of this process's privacy stage. Default: the machine's cores, at most 4. */
  PRIVACY_REPLICAS: z.coerce.number().int().min(1).max(8).default(Math.max(1, Math.min(4, availableParallelism()))),
  /** Person/object detection inside the privacy boundary (head regions redacted, COCO objects in the metadata), motion-gated. off = faces and text only. */
  PRIVACY_OBJECT_DETECTION: z.enum(['on', 'off']).default('on'),
});

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
