import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { checkKey, ObjectStoreError, writeBody, type ObjectBody, type ObjectStore } from './object-store';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Prepended to every key, e.g. "chronotrace/" (empty: the bucket's root). */
  prefix?: string;
  /** An S3-compatible endpoint (MinIO, Ceph, …); absent: AWS's for the region. */
  endpoint?: string;
  region: string;
  /** Absent: the AWS SDK's usual credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Bucket in the path, not the host name (what most S3-compatible servers want). Default: true with an endpoint. */
  forcePathStyle?: boolean;
}

/**
 * The ObjectStore on S3-compatible object storage. Requests carry checksums only where S3 requires
 * them, so servers other than AWS's (which may not know the newer checksum headers) accept them.
 */
export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  private readonly prefix: string;

  private constructor(private readonly o: S3ObjectStoreOptions) {
    this.prefix = o.prefix ?? '';
    this.client = new S3Client({
      region: o.region,
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      forcePathStyle: o.forcePathStyle ?? o.endpoint !== undefined,
      ...(o.credentials ? { credentials: o.credentials } : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Opens the store and checks the bucket is reachable (a clear error at start-up, not at the first segment). */
  static async open(o: S3ObjectStoreOptions): Promise<S3ObjectStore> {
    if (o.prefix && !o.prefix.endsWith('/')) throw new ObjectStoreError(`S3 prefix must end with "/": ${o.prefix}`);
    const s = new S3ObjectStore(o);
    try {
      await s.client.send(new HeadBucketCommand({ Bucket: o.bucket }));
    } catch (e) {
      s.client.destroy();
      throw new ObjectStoreError(`cannot reach bucket "${o.bucket}"${o.endpoint ? ` at ${o.endpoint}` : ''}: ${describe(e)}`);
    }
    return s;
  }

  get where(): string {
    return `s3://${this.o.bucket}/${this.prefix}${this.o.endpoint ? ` at ${this.o.endpoint}` : ''}`;
  }

  private key(key: string): string {
    return `${this.prefix}${checkKey(key)}`;
  }

  async putFile(key: string, path: string): Promise<void> {
    const { size } = await stat(path);
    await this.client.send(new PutObjectCommand({ Bucket: this.o.bucket, Key: this.key(key), Body: createReadStream(path), ContentLength: size }));
  }

  async get(key: string, range?: { start: number; end: number }): Promise<ObjectBody | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.o.bucket, Key: this.key(key), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }));
      const bytes = r.ContentLength ?? 0;
      const total = r.ContentRange ? Number(/\/(\d+)$/.exec(r.ContentRange)?.[1] ?? bytes) : bytes;
      const body = r.Body;
      const stream = body instanceof Readable ? body : Readable.from([]);
      return { stream, bytes, totalBytes: total };
    } catch (e) {
      if (e instanceof S3ServiceException && (e.name === 'NoSuchKey' || e.$metadata.httpStatusCode === 404)) return null;
      if (e instanceof S3ServiceException && e.$metadata.httpStatusCode === 416) throw new ObjectStoreError(`range ${range?.start}-${range?.end} outside ${key}`);
      throw e;
    }
  }

  async download(key: string, path: string): Promise<boolean> {
    return writeBody(await this.get(key), path);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      const r = await this.client.send(new DeleteObjectsCommand({ Bucket: this.o.bucket, Delete: { Objects: chunk.map((k) => ({ Key: this.key(k) })), Quiet: true } }));
      const failed = (r.Errors ?? []).filter((x) => x.Code !== 'NoSuchKey');
      if (failed.length) throw new ObjectStoreError(`could not delete ${failed.length} objects: ${failed[0]?.Code} ${failed[0]?.Message ?? ''}`);
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    if (!prefix.endsWith('/')) throw new ObjectStoreError(`a prefix ends with "/": ${prefix}`);
    checkKey(prefix.slice(0, -1));
    let n = 0;
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.o.bucket, Prefix: `${this.prefix}${prefix}`, ...(token ? { ContinuationToken: token } : {}) }));
      const keys = (page.Contents ?? []).map((c) => c.Key!).filter(Boolean);
      if (keys.length) {
        await this.client.send(new DeleteObjectsCommand({ Bucket: this.o.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
        n += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return n;
  }

  close(): void {
    this.client.destroy();
  }
}

function describe(e: unknown): string {
  if (e instanceof S3ServiceException) return `${e.name} (HTTP ${e.$metadata.httpStatusCode ?? '?'})`;
  return e instanceof Error ? e.message : String(e);
}
