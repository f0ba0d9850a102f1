import type { Env } from '../env';
import { S3ObjectStore } from './s3-object-store';

/** The archive of recorded media the env asks for: S3-compatible storage (its bucket checked), or null (MEDIA_STORE=local). */
export async function openArchive(e: Pick<Env, 'MEDIA_STORE' | 'S3_BUCKET' | 'S3_ENDPOINT' | 'S3_REGION' | 'S3_PREFIX' | 'S3_ACCESS_KEY_ID' | 'S3_SECRET_ACCESS_KEY'>): Promise<S3ObjectStore | null> {
  if (e.MEDIA_STORE !== 's3') return null;
  return S3ObjectStore.open({
    bucket: e.S3_BUCKET ?? '',
    region: e.S3_REGION,
    prefix: e.S3_PREFIX,
    ...(e.S3_ENDPOINT ? { endpoint: e.S3_ENDPOINT } : {}),
    ...(e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY ? { credentials: { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY } } : {}),
  });
}
