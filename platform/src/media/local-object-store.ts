import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { checkKey, ObjectStoreError, writeBody, type ObjectBody, type ObjectStore } from './object-store';

/** The ObjectStore as a folder: each key a file under `root` (written through a temporary file). */
export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local' as const;

  constructor(private readonly root: string) {}

  get where(): string {
    return this.root;
  }

  private path(key: string): string {
    return join(this.root, checkKey(key));
  }

  async putFile(key: string, path: string): Promise<void> {
    const to = this.path(key);
    await mkdir(dirname(to), { recursive: true });
    const tmp = `${to}.tmp-${process.pid}`;
    await copyFile(path, tmp);
    await rename(tmp, to);
  }

  async get(key: string, range?: { start: number; end: number }): Promise<ObjectBody | null> {
    const path = this.path(key);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      return null;
    }
    if (range && (range.start < 0 || range.end < range.start || range.start >= size)) throw new ObjectStoreError(`range ${range.start}-${range.end} outside the ${size} bytes of ${key}`);
    const end = range ? Math.min(range.end, size - 1) : size - 1;
    const start = range?.start ?? 0;
    return { stream: createReadStream(path, { start, end }), bytes: size === 0 ? 0 : end - start + 1, totalBytes: size };
  }

  async download(key: string, path: string): Promise<boolean> {
    return writeBody(await this.get(key), path);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) await rm(this.path(k), { force: true });
  }

  async deletePrefix(prefix: string): Promise<number> {
    if (!prefix.endsWith('/')) throw new ObjectStoreError(`a prefix ends with "/": ${prefix}`);
    const dir = this.path(prefix.slice(0, -1));
    const count = async (d: string): Promise<number> => {
      let n = 0;
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) n += e.isDirectory() ? await count(join(d, e.name)) : 1;
      return n;
    };
    const n = await count(dir);
    await rm(dir, { recursive: true, force: true });
    return n;
  }
}
