import { LocalObjectStore } from './local-object-store';
import type { ObjectBody, ObjectStore } from './object-store';

/**
 * Recorded media by key, wherever it is: under the media root (being written, or MEDIA_STORE=local),
 * else in the archive (MEDIA_STORE=s3). Deletes go to both.
 */
export class MediaFiles {
  readonly local: LocalObjectStore;

  constructor(
    readonly root: string,
    readonly archive: ObjectStore | null,
  ) {
    this.local = new LocalObjectStore(root);
  }

  async get(key: string, range?: { start: number; end: number }): Promise<ObjectBody | null> {
    return (await this.local.get(key, range)) ?? (this.archive ? await this.archive.get(key, range) : null);
  }

  async download(key: string, path: string): Promise<boolean> {
    return (await this.local.download(key, path)) || (this.archive ? await this.archive.download(key, path) : false);
  }

  async delete(keys: readonly string[]): Promise<void> {
    await this.local.delete(keys);
    await this.archive?.delete(keys);
  }

  async deletePrefix(prefix: string): Promise<number> {
    return (await this.local.deletePrefix(prefix)) + ((await this.archive?.deletePrefix(prefix)) ?? 0);
  }
}
