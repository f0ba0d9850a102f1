import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** An object's bytes, as a stream (a range of them when one was asked for). */
export interface ObjectBody {
  stream: Readable;
  /** Bytes in `stream`. */
  bytes: number;
  /** Bytes of the whole object. */
  totalBytes: number;
}

/**
 * Port: where recorded media is kept once written (segments, init segments, evidence exports), by key
 * (`recordings/<camera>/<run>/seg-000000.m4s`). Implementations: LocalObjectStore (a folder) and
 * S3ObjectStore (any S3-compatible object storage); one contract suite.
 */
export interface ObjectStore {
  readonly kind: 'local' | 's3';
  /** Where it is, for logs (a folder, or s3://bucket/prefix at an endpoint). */
  readonly where: string;
  /** Stores a local file under `key` (replacing any object there). */
  putFile(key: string, path: string): Promise<void>;
  /** The object, a byte range [start, end] of it when given; null when there is none. */
  get(key: string, range?: { start: number; end: number }): Promise<ObjectBody | null>;
  /** Copies the object to a local file; false when there is none. */
  download(key: string, path: string): Promise<boolean>;
  /** Deletes these objects (missing ones are fine). */
  delete(keys: readonly string[]): Promise<void>;
  /** Deletes every object whose key starts with `prefix` (which must end with "/"); returns how many. */
  deletePrefix(prefix: string): Promise<number>;
}

export class ObjectStoreError extends Error {
  override name = 'ObjectStoreError';
}

/** Throws unless `key` is a relative path of plain segments (no "..", no absolute path, no backslash). */
export function checkKey(key: string): string {
  if (key.length === 0 || key.length > 900 || key.startsWith('/') || key.includes('\\') || key.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new ObjectStoreError(`not a valid object key: ${JSON.stringify(key)}`);
  }
  return key;
}

/** Writes an object's bytes to a local file; false when there is no object. */
export async function writeBody(body: ObjectBody | null, path: string): Promise<boolean> {
  if (!body) return false;
  await pipeline(body.stream, createWriteStream(path));
  return true;
}
