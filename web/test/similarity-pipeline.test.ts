import { rm } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertMessage, RedactedFrameMeta, StandingQuery } from '@chronotrace/contracts';
import { CameraCatalog, InProcessBus, createLogger, openStore, type SqlStore } from '@chronotrace/platform';
import { AnalyticsService, ClipOnnxEmbedder, FrameSimilarity } from '@chronotrace/pipeline';
import { QueryService } from '../server/query-service';
import { writeTinyClip } from '../../pipeline/test/embed/tiny-clip';

const log = createLogger('similarity-pipeline-test');
const W = 160;
const H = 120;

async function frame(hex: string): Promise<Uint8Array> {
  return new Uint8Array(await sharp({ create: { width: W, height: H, channels: 3, background: hex } }).jpeg().toBuffer());
}

function meta(seq: number, t0: number): RedactedFrameMeta {
  const at = t0 + seq * 500;
  return {
    camera: 'yard',
    frameId: `yard:s:${seq}`,
    seq,
    capturedAt: at,
    width: W,
    height: H,
    redaction: {
      faces: [], plates: [], heads: [],
      objects: [{ x: 40 + seq, y: 10, w: 30, h: 100, label: 'person', score: 0.9 }],
      motion: { ran: true, changedRatio: 0.1, reason: 'motion' }, method: 'pixelate', models: [], ms: 1, redactedAt: at,
    },
  };
}

let dir: string;
let clip: ClipOnnxEmbedder;
let store: SqlStore;

beforeAll(async () => {
  dir = await writeTinyClip();
  clip = await ClipOnnxEmbedder.open({ modelDir: dir });
  store = await openStore({ kind: 'pglite' });
});
afterAll(async () => {
  await clip?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('similarity term through the analytics service and the backtest (tiny CLIP, real store and bus)', () => {
  it('a free-text query fires only once the scene looks like its words, with the calibrated score in the alert; the backtest replays the same', async () => {
    const bus = new InProcessBus();
    const catalog = new CameraCatalog(store, log);
    const calibration = { percentile: 95, windowFrames: 40, minFrames: 20 };
    const similarity = new FrameSimilarity({ embedder: clip, calibration, intervalMs: 0 });
    const matcher = { hysteresis: { n: 2, m: 3 }, cooldownMs: 0 };
    const service = new AnalyticsService({ bus, store, catalog, instance: 't', matcher, similarity, logger: log });
    const queries = new QueryService({ store, matcher, log, similarity: { embedder: clip, calibration } });
    const alerts: AlertMessage[] = [];
    const watch = await bus.consume('alerts', { durable: 'watch' }, async (ms) => ms.forEach((m) => (alerts.push(m.envelope.meta), m.ack())));
    try {
      await service.start();
      const created = await queries.create({ text: 'person near a red ladder' });
      if (!created.ok) throw new Error(created.error);
      const q: StandingQuery = created.query;
      expect(q.plan.similarity?.terms).toEqual(['ladder']);
      expect(q.explanation).toMatch(/looks like "person near a red ladder"/);
      await service.match.refreshQueries();

      const t0 = Date.now() - 60_000;
      const grey = await frame('#506070');
      const red = await frame('#d02020');
      // 30 grey frames: background (the first 20 calibrate), a person in every one, no alert.
      for (let seq = 1; seq <= 30; seq++) await bus.publish('frames.redacted', 'yard', { meta: meta(seq, t0), body: grey }, { msgId: `yard:s:${seq}` });
      await waitUntil(() => service.match.stats().frames >= 30);
      expect(alerts).toEqual([]);
      // Then the scene turns red: the term holds and, after 2 of 3 frames, the query fires.
      for (let seq = 31; seq <= 34; seq++) await bus.publish('frames.redacted', 'yard', { meta: meta(seq, t0), body: red }, { msgId: `yard:s:${seq}` });
      await waitUntil(() => alerts.length > 0);
      const a = alerts[0]!;
      expect(a.queryId).toBe(q.id);
      expect(a.frameId).toBe('yard:s:32');
      expect(a.scores.similarity).toMatchObject({ percentile: 95, model: `clip-onnx@${clip.version}` });
      expect(a.scores.similarity!.score).toBeGreaterThan(a.scores.similarity!.threshold);
      expect(a.models.map((m) => m.name)).toContain('matcher');

      // The frame embeddings were stored; a backtest of the same query over the same time finds the same frame.
      await waitUntil(async () => (await store.scene.embeddings({ from: t0, to: t0 + 60_000, model: `clip-onnx@${clip.version}` })).length === 34);
      await waitUntil(async () => (await store.scene.frames({ from: t0, to: t0 + 60_000 })).length === 34);
      const bt = await queries.backtest(q.id, { from: t0, to: t0 + 60_000 });
      if (!bt.ok) throw new Error(bt.error);
      expect(bt.result.hits.map((h) => h.frameId)).toEqual(['yard:s:32']);
    } finally {
      await watch.close();
      await service.close();
      catalog.close();
      await bus.close();
    }
  });

  it('without an embedder, the same words are refused with the reason, and a stored similarity query cannot be backtested', async () => {
    const plain = new QueryService({ store, matcher: {}, log });
    const r = await plain.create({ text: 'person near a red ladder' });
    expect(r.ok).toBe(false);
    if (!r.ok && 'rejection' in r) expect(r.rejection?.unknownTerms).toEqual(['ladder']);
    const withTerm = (await store.queries.list()).find((q) => q.plan.similarity);
    expect(withTerm).toBeDefined();
    const bt = await plain.backtest(withTerm!.id, {});
    expect(bt.ok).toBe(false);
    if (!bt.ok) expect(bt.error).toMatch(/needs the embedder/);
  });
});

async function waitUntil(f: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
