import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SearchResponse } from '@chronotrace/contracts';
import { ClipOnnxEmbedder, dot } from '@chronotrace/pipeline';
import { writeTinyClip } from '../pipeline/test/embed/tiny-clip';
import { startTestRuntime, waitFor, type TestRuntime } from './support/runtime';

const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';

/*
 * Similarity in search end to end, embedded, with an embedder on (the tiny generated CLIP: it sees
 * colour only): vtest.avi's pedestrians are tracked, their best views stored and embedded into the
 * on-disk vector index, and a search with a word the compiler does not know ranks by it. The truth
 * each figure is checked against is computed here: the structured score from a plain search, the
 * similarity from embedding the thumbnail the API serves.
 */
describe('search with a similarity term (embedded, EMBEDDER=clip-onnx)', () => {
  let t: TestRuntime;
  let dir: string;
  let clip: ClipOnnxEmbedder;
  const search = async (q: string): Promise<SearchResponse> => {
    const r = await fetch(`${t.url}/api/search?q=${encodeURIComponent(q)}&limit=200`);
    if (r.status !== 200) throw new Error(`search ${q}: ${r.status} ${await r.text()}`);
    return (await r.json()) as SearchResponse;
  };

  beforeAll(async () => {
    dir = await writeTinyClip();
    clip = await ClipOnnxEmbedder.open({ modelDir: dir });
    t = await startTestRuntime([{ id: 'street', name: 'Street', source: VTEST, fps: 5, analysisFps: 2, width: 480 }], { EMBEDDER: 'clip-onnx', CLIP_MODEL_DIR: dir });
  }, 90_000);
  afterAll(async () => {
    await t?.close();
    await clip?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ranks the pedestrians by half match quality, half how red their best view looks, each figure checkable', async () => {
    const vectors = t.runtime.search.vectors!;
    expect(vectors.kind).toBe('usearch');
    const similar = await waitFor(
      'four pedestrians with embedded best views',
      async () => {
        const s = await search('person vermilion');
        return s.hits.length >= 4 && s.hits.every((h) => h.scores.similarity !== null) ? s : undefined;
      },
      120_000,
      1_000,
    );
    expect(similar.plan.similarity?.terms).toEqual(['vermilion']);
    // Read the structured scores of the same tracks and their thumbnails at the same moment (tracks still change).
    const plain = new Map((await search('person')).hits.map((h) => [h.trackId, h.score]));
    const [text] = await clip.embedTexts(['person vermilion']);
    const sims: number[] = [];
    for (const h of similar.hits) {
      const crop = new Uint8Array(await (await fetch(`${t.url}${h.thumbnail!.crop}`)).arrayBuffer());
      const [v] = await clip.embedImages([crop]);
      sims.push(dot(v!, text!));
    }
    const lo = Math.min(...sims);
    const hi = Math.max(...sims);
    let checked = 0;
    similar.hits.forEach((h, i) => {
      expect(h.label).toBe('person');
      // The thumbnail of a live track may have been replaced since it was embedded: compare the settled ones.
      if (Math.abs(h.scores.similarity! - sims[i]!) > 0.01 || !plain.has(h.trackId)) return;
      checked++;
      const expected = 0.5 * plain.get(h.trackId)! + 0.5 * (hi > lo ? (sims[i]! - lo) / (hi - lo) : 1);
      expect(h.score).toBeCloseTo(expected, 1);
    });
    expect(checked).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < similar.hits.length; i++) expect(similar.hits[i]!.score).toBeLessThanOrEqual(similar.hits[i - 1]!.score);
    expect(await vectors.count()).toBeGreaterThanOrEqual(similar.hits.length);
    // A word with no structured meaning is never silently dropped: without it the plan has no similarity term.
    expect((await search('person')).plan.similarity).toBeUndefined();
  }, 150_000);
});
