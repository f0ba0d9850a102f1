import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore, ObjectStoreError, S3ObjectStore, type ObjectStore } from '../src/media/index';
import { startS3, type TestS3 } from '../../test/support/s3-server';

let dir: string;
let s3: TestS3;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ct-objects-'));
  s3 = await startS3();
});
afterAll(async () => {
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

const targets: { name: string; open(): Promise<ObjectStore> }[] = [
  { name: 'a local folder', open: async () => new LocalObjectStore(await mkdtemp(join(dir, 'local-'))) },
  { name: 'S3 (s3rver)', open: () => S3ObjectStore.open({ bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', credentials: s3.credentials, prefix: `run-${Date.now().toString(36)}/` }) },
];

describe.each(targets)('ObjectStore contract on $name', (t) => {
  it('stores files by key, reads them whole or by range, downloads, deletes, deletes by prefix', async () => {
    const store = await t.open();
    const src = join(dir, `src-${Math.random().toString(36).slice(2)}`);
    await writeFile(src, 'abcdefghijklmnopqrstuvwxyz');
    await store.putFile('recordings/gate/run1/seg-000000.m4s', src);
    await store.putFile('recordings/gate/run1/init.mp4', src);
    await store.putFile('recordings/yard/run9/seg-000000.m4s', src);
    const whole = await store.get('recordings/gate/run1/seg-000000.m4s');
    expect(whole && { bytes: whole.bytes, total: whole.totalBytes, text: await text(whole.stream) }).toEqual({ bytes: 26, total: 26, text: 'abcdefghijklmnopqrstuvwxyz' });
    const part = await store.get('recordings/gate/run1/seg-000000.m4s', { start: 2, end: 5 });
    expect(part && { bytes: part.bytes, total: part.totalBytes, text: await text(part.stream) }).toEqual({ bytes: 4, total: 26, text: 'cdef' });
    expect(await store.get('recordings/gate/run1/seg-000999.m4s')).toBeNull();
    const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
    expect(await store.download('recordings/gate/run1/init.mp4', out)).toBe(true);
    expect(await readFile(out, 'utf8')).toBe('abcdefghijklmnopqrstuvwxyz');
    expect(await store.download('nope/x', out)).toBe(false);
    // Replacing, deleting (a missing key is fine), deleting a camera's prefix.
    await writeFile(src, 'v2');
    await store.putFile('recordings/gate/run1/init.mp4', src);
    expect(await text((await store.get('recordings/gate/run1/init.mp4'))!.stream)).toBe('v2');
    await store.delete(['recordings/gate/run1/init.mp4', 'recordings/gate/never']);
    expect(await store.get('recordings/gate/run1/init.mp4')).toBeNull();
    expect(await store.deletePrefix('recordings/gate/')).toBe(1);
    expect(await store.get('recordings/gate/run1/seg-000000.m4s')).toBeNull();
    expect(await store.get('recordings/yard/run9/seg-000000.m4s')).not.toBeNull();
    // Keys that could escape are refused.
    for (const bad of ['../etc/passwd', '/abs', 'a//b', 'a\\b', 'a/./b']) await expect(store.putFile(bad, src)).rejects.toBeInstanceOf(ObjectStoreError);
    await expect(store.deletePrefix('recordings')).rejects.toBeInstanceOf(ObjectStoreError);
  });
});

describe('S3ObjectStore', () => {
  it('says plainly at open when the bucket cannot be reached', async () => {
    await expect(S3ObjectStore.open({ bucket: 'no-such-bucket', endpoint: s3.endpoint, region: 'us-east-1', credentials: s3.credentials })).rejects.toThrow(/cannot reach bucket "no-such-bucket" at http:\/\/127\.0\.0\.1:\d+/);
    await expect(S3ObjectStore.open({ bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', credentials: s3.credentials, prefix: 'no-slash' })).rejects.toThrow(/must end with "\/"/);
  });
});
