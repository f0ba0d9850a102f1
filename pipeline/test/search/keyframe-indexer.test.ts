import { describe, expect, it } from 'vitest';
import { UsearchVectorIndex, createLogger } from '@chronotrace/platform';
import { KeyframeIndexer, type Embedder } from '../../src/index';

/** An embedder whose images embed only when the test releases them: the first byte picks the axis; 0xff fails. */
function gatedEmbedder(): Embedder & { release(): Promise<void>; calls: number[] } {
  const waiting: (() => void)[] = [];
  const calls: number[] = [];
  return {
    name: 'gated',
    version: '1',
    dimensions: 4,
    calls,
    /** Lets the next embedding finish, once it has started. */
    release: async () => {
      while (waiting.length === 0) await new Promise((r) => setImmediate(r));
      waiting.shift()!();
    },
    async embedImages(jpegs) {
      const b = jpegs[0]![0]!;
      calls.push(b);
      await new Promise<void>((r) => waiting.push(r));
      if (b === 0xff) throw new Error('not a picture');
      const v = new Float32Array(4);
      v[b % 4] = 1;
      return [v];
    },
    async embedTexts() {
      return [];
    },
    async close() {},
  };
}

const kf = (track: string, byte: number) => ({ trackId: track, camera: 'gate', at: 1000 + byte, jpeg: new Uint8Array([byte]) });

describe('KeyframeIndexer', () => {
  it('embeds one at a time, a newer view of a waiting track replaces the older, the oldest is dropped past the limit, a failure is skipped', async () => {
    const embedder = gatedEmbedder();
    const index = await UsearchVectorIndex.open({ dimensions: 4 });
    const k = new KeyframeIndexer({ embedder, index, maxPending: 2, logger: createLogger('kf-test') });
    k.offer(kf('a', 0)); // in flight at once
    k.offer(kf('b', 1));
    k.offer(kf('b', 2)); // replaces b's first view
    k.offer(kf('c', 0xff));
    k.offer(kf('d', 3)); // over the limit of 2 waiting: b (the oldest waiting) is dropped
    expect(k.stats()).toMatchObject({ pending: 2, dropped: 1 });
    for (let i = 0; i < 3; i++) await embedder.release();
    await k.idle();
    expect(embedder.calls).toEqual([0, 0xff, 3]);
    expect(k.stats()).toEqual({ indexed: 2, failed: 1, dropped: 1, pending: 0, lastEmbedMs: expect.any(Number) });
    const hits = await index.search(Float32Array.from([0, 0, 0, 1]), { k: 5 });
    expect(hits.map((h) => h.id).sort()).toEqual(['a', 'd']);
    expect(hits[0]).toMatchObject({ id: 'd', camera: 'gate', at: 1003 });
    // Close embeds what waits, then takes no more.
    k.offer(kf('e', 2));
    const closing = k.close();
    await embedder.release();
    await closing;
    k.offer(kf('f', 1));
    expect(await index.count()).toBe(3);
    expect(embedder.calls).toEqual([0, 0xff, 3, 2]);
    await index.close();
  });
});
