import { describe, expect, it } from 'vitest';
import type { DetectedObjectBox, RedactedFrameMeta } from '@chronotrace/contracts';
import { CameraCatalog, InProcessBus, UsearchVectorIndex, createLogger, type Bus } from '@chronotrace/platform';
import sharp from 'sharp';
import { storeTargets } from '../../../platform/test/store-targets';
import { AnalyticsService, KeyframeIndexer, QueryCompiler, SearchService, dot, type Keyframe, type KeyframeSink } from '../../src/index';
import { TINY_DIMENSIONS, useTinyClip } from '../embed/tiny-clip';

const log = createLogger('similarity-search-test');
const [pglite] = storeTargets('simsearch');
const W = 320;
const H = 240;

/** Three people in tops of known colours, at known places (the ground truth of the ranking). */
const PEOPLE = [
  { x: 20, rgb: [30, 40, 200] as const, colour: 'blue' },
  { x: 130, rgb: [210, 25, 25] as const, colour: 'red' },
  { x: 240, rgb: [30, 190, 40] as const, colour: 'green' },
];

async function frame(withPeople: boolean): Promise<Uint8Array> {
  const raw = Buffer.alloc(W * H * 3, 128);
  if (withPeople) for (const p of PEOPLE) for (let y = 40; y < 220; y++) for (let x = p.x; x < p.x + 50; x++) raw.set(p.rgb, (y * W + x) * 3);
  return new Uint8Array(await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 92 }).toBuffer());
}

function meta(seq: number, objects: DetectedObjectBox[], t0: number): RedactedFrameMeta {
  return {
    camera: 'gate',
    frameId: `gate:s:${seq}`,
    seq,
    capturedAt: t0 + seq * 500,
    width: W,
    height: H,
    redaction: { faces: [], plates: [], heads: [], objects, motion: { ran: true, changedRatio: 0.1, reason: 'motion' }, method: 'pixelate', models: [{ name: 'nanodet', version: 't' }], ms: 1, redactedAt: t0 + seq * 500 },
  };
}

const tiny = useTinyClip();

describe('search with a similarity term (keyframe embeddings in a VectorIndex)', () => {
  it('embeds each track’s stored best view and ranks a free-text word by it, paginated, beside structured search', async () => {
    const store = await pglite!.open();
    const bus: Bus = new InProcessBus();
    const index = await UsearchVectorIndex.open({ dimensions: TINY_DIMENSIONS });
    const indexer = new KeyframeIndexer({ embedder: tiny.clip, index, logger: log });
    // Hands keyframes on, and tells when every person's best view has been offered.
    const offered: Keyframe[] = [];
    let allOffered!: () => void;
    const three = new Promise<void>((r) => (allOffered = r));
    const sink: KeyframeSink = {
      offer: (k) => {
        offered.push(k);
        indexer.offer(k);
        if (new Set(offered.map((o) => o.trackId)).size === PEOPLE.length) allOffered();
      },
      prune: (before) => indexer.prune(before),
    };
    const catalog = new CameraCatalog(store, log);
    const service = new AnalyticsService({ bus, store, catalog, instance: 'test', keyframes: sink, logger: log });
    try {
      await service.start();
      const t0 = Date.now() - 60_000;
      const boxes: DetectedObjectBox[] = PEOPLE.map((p) => ({ x: p.x, y: 40, w: 50, h: 180, label: 'person', score: 0.9 }));
      const seen = await frame(true);
      const empty = await frame(false);
      // Eight frames with the three people, then empty frames until the tracker ends their tracks (3 s unseen).
      for (let seq = 1; seq <= 18; seq++) {
        const m = meta(seq, seq <= 8 ? boxes : [], t0);
        await bus.publish('frames.redacted', 'gate', { meta: m, body: seq <= 8 ? seen : empty }, { msgId: m.frameId });
      }
      await three;
      await indexer.idle();
      expect(await index.count()).toBe(PEOPLE.length);
      expect(indexer.stats()).toMatchObject({ indexed: offered.length, failed: 0, dropped: 0, pending: 0 });

      const compiler = new QueryCompiler({ cameras: [{ id: 'gate', name: 'Gate' }], freeText: true });
      const search = new SearchService({ store, compiler: async () => compiler, cameras: async () => [{ id: 'gate', name: 'Gate', timeZone: 'UTC' }], similarity: { embedder: tiny.clip, index } });
      const run = async (q: Record<string, unknown>) => {
        const r = await search.search(q);
        if (!r.ok) throw new Error(JSON.stringify(r));
        return r.response;
      };
      const colourAt = (x: number): string => PEOPLE.find((p) => Math.abs(p.x - x) < 15)!.colour;

      // Structured only: the three people, no similarity score.
      const plain = await run({ q: 'person' });
      expect(plain.plan.similarity).toBeUndefined();
      expect(plain.hits.map((h) => colourAt(h.box.x)).sort()).toEqual(['blue', 'green', 'red']);
      expect(plain.hits.every((h) => h.scores.similarity === null)).toBe(true);

      // "vermilion" means nothing to the compiler: it becomes a similarity term, and the red top ranks first.
      const similar = await run({ q: 'person vermilion' });
      expect(similar.plan.similarity?.terms).toEqual(['vermilion']);
      expect(similar.explanation).toMatch(/ranked by how closely each track's best view looks like "person vermilion"/);
      expect(similar.hits.map((h) => colourAt(h.box.x))[0]).toBe('red');
      const sims = similar.hits.map((h) => h.scores.similarity!);
      expect(sims[0]).toBeGreaterThan(Math.max(...sims.slice(1)) + 0.2);
      // Each similarity is the cosine of the stored crop's embedding and the text's (the index holds what the store shows).
      const [text] = await tiny.clip.embedTexts(['person vermilion']);
      for (const h of similar.hits) {
        const crop = await store.trackSummaries.thumbnail(h.trackId, 'crop');
        const [v] = await tiny.clip.embedImages([crop!]);
        expect(h.scores.similarity).toBeCloseTo(dot(v!, text!), 2);
      }
      for (let i = 1; i < similar.hits.length; i++) expect(similar.hits[i]!.score).toBeLessThanOrEqual(similar.hits[i - 1]!.score);

      // Keyset pages of one: the same order, each once.
      const pages: string[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 4; i++) {
        const p = await run({ q: 'person vermilion', limit: 1, ...(cursor ? { cursor } : {}) });
        pages.push(...p.hits.map((h) => h.trackId));
        if (!p.nextCursor) break;
        cursor = p.nextCursor;
      }
      expect(pages).toEqual(similar.hits.map((h) => h.trackId));

      // The structured part still filters: nothing on another camera, nothing for cars.
      expect((await run({ q: 'car vermilion' })).hits).toEqual([]);
      expect((await run({ q: 'person vermilion', from: String(Date.now() + 3_600_000) })).hits).toEqual([]);

      // Without a vector index, such a search is refused plainly (structured searches still run).
      const none = new SearchService({ store, compiler: async () => compiler, cameras: async () => [{ id: 'gate', name: 'Gate' }], similarity: { embedder: tiny.clip, index: null } });
      const refused = await none.search({ q: 'person vermilion' });
      expect(refused).toMatchObject({ ok: false, status: 400, error: 'invalid search' });
      expect(refused.ok === false && 'details' in refused ? refused.details?.[0] : '').toMatch(/"vermilion" can only be searched by image similarity.*VECTOR_INDEX=qdrant/);
      expect((await none.search({ q: 'person' })).ok).toBe(true);
    } finally {
      await service.close();
      await indexer.close();
      await index.close();
      catalog.close();
      await bus.close();
      await store.close();
    }
  });
});
