import { rm } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUERY_PLAN_VERSION, type SceneTrack, type StandingQuery } from '@chronotrace/contracts';
import { ClipOnnxEmbedder, FrameSimilarity, QueryCompiler, SimilarityCalibrator, TrackMatcher, normalise } from '../../src/index';
import { writeTinyClip } from './tiny-clip';
import { track as fixtureTrack } from '../matching/fixtures';

const unit = (...xs: number[]): Float32Array => normalise(Float32Array.from(xs));

describe('SimilarityCalibrator', () => {
  it('holds only above the percentile of the query\'s scores on the camera\'s recent frames, never while calibrating', () => {
    const c = new SimilarityCalibrator('m@1', { percentile: 90, windowFrames: 50, minFrames: 10 });
    const q = [{ id: 'q', vector: unit(1, 0) }];
    // Background: frames scoring 0.0 .. 0.45 on the query.
    const background = Array.from({ length: 10 }, (_, i) => unit(i * 0.05, Math.sqrt(1 - (i * 0.05) ** 2)));
    for (const [i, f] of background.entries()) {
      const j = c.judge('gate', f, q).get('q')!;
      expect(j.holds, `frame ${i} is still calibrating`).toBe(false);
      expect(j.threshold).toBe(Number.POSITIVE_INFINITY);
    }
    const hot = c.judge('gate', unit(0.8, 0.6), q).get('q')!;
    expect(hot).toMatchObject({ holds: true, percentile: 90, model: 'm@1' });
    expect(hot.score).toBeCloseTo(0.8, 3);
    expect(hot.threshold).toBeCloseTo(0.4, 2);
    // Like the background: no.
    expect(c.judge('gate', unit(0.3, 0.954), q).get('q')!.holds).toBe(false);
    // Thresholds are per camera: another camera is still calibrating.
    expect(c.judge('dock', unit(0.8, 0.6), q).get('q')!.holds).toBe(false);
    expect(c.frames('gate')).toBe(12);
  });

  it('adapts: when the scene keeps looking like the text, the threshold rises with it (a percentile, not a fixed cosine)', () => {
    const c = new SimilarityCalibrator('m@1', { percentile: 95, windowFrames: 20, minFrames: 5 });
    const q = [{ id: 'q', vector: unit(1, 0) }];
    for (let i = 0; i < 20; i++) c.judge('gate', unit(0.1, 1), q);
    expect(c.judge('gate', unit(0.7, 0.71), q).get('q')!.holds).toBe(true);
    for (let i = 0; i < 20; i++) c.judge('gate', unit(0.7, 0.71), q);
    expect(c.judge('gate', unit(0.7, 0.71), q).get('q')!.holds).toBe(false);
    expect(() => new SimilarityCalibrator('m', { percentile: 100 })).toThrow(RangeError);
    expect(() => new SimilarityCalibrator('m', { windowFrames: 5, minFrames: 6 })).toThrow(RangeError);
  });
});

describe('TrackMatcher with a similarity term', () => {
  const track = (at: number): SceneTrack => fixtureTrack('t1', { camera: 'gate', firstSeen: 0, lastSeen: at, age: at });
  it('needs the frame\'s judgement to hold, and carries the score and calibrated threshold in the event', () => {
    const m = new TrackMatcher({ hysteresis: { n: 1, m: 1 }, cooldownMs: 0 });
    m.arm({ id: 'q', version: 1, plan: { version: QUERY_PLAN_VERSION, subject: { classes: ['person'] }, similarity: { text: 'person with a ladder', terms: ['ladder'] } } });
    expect(m.evaluate({ camera: 'gate', at: 1, tracks: [track(1)] })).toEqual([]);
    const no = new Map([['q', { score: 0.2, threshold: 0.3, percentile: 99, model: 'm', holds: false }]]);
    expect(m.evaluate({ camera: 'gate', at: 2, tracks: [track(2)], similarity: no })).toEqual([]);
    const yes = new Map([['q', { score: 0.35, threshold: 0.3, percentile: 99, model: 'm', holds: true }]]);
    const [e] = m.evaluate({ camera: 'gate', at: 3, tracks: [track(3)], similarity: yes });
    expect(e?.scores.similarity).toEqual({ score: 0.35, threshold: 0.3, percentile: 99, model: 'm' });
  });
});

describe('FrameSimilarity on the tiny CLIP', () => {
  let dir: string;
  let sim: FrameSimilarity;
  let clip: ClipOnnxEmbedder;
  beforeAll(async () => {
    dir = await writeTinyClip();
    clip = await ClipOnnxEmbedder.open({ modelDir: dir });
    sim = new FrameSimilarity({ embedder: clip, calibration: { percentile: 90, windowFrames: 30, minFrames: 5 }, intervalMs: 1000 });
  });
  afterAll(async () => {
    await clip?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('compiles a free-text residue, embeds frames of covered cameras at most once per interval, and fires when the scene changes to look like the text', async () => {
    const compiled = new QueryCompiler({ freeText: true }).compile('person near a red ladder');
    if (!compiled.ok) throw new Error(compiled.error.error);
    expect(compiled.plan.similarity).toEqual({ text: 'person near a red ladder', terms: ['ladder'] });
    const q: StandingQuery = { id: 'q-lad', text: 'person near a red ladder', plan: { ...compiled.plan, cameras: ['gate'] }, explanation: compiled.explanation, cameras: ['gate'], severity: 'warning', armed: true, version: 1, createdAt: 0, updatedAt: 0 };
    await sim.setQueries([q]);
    const jpeg = async (hex: string): Promise<Uint8Array> => new Uint8Array(await sharp({ create: { width: 32, height: 24, channels: 3, background: hex } }).jpeg().toBuffer());
    const grey = await jpeg('#405060');
    expect(await sim.judge('dock', 'd1', 0, grey)).toBeUndefined();
    let t = 0;
    for (let i = 0; i < 8; i++) {
      t += 1000;
      const r = await sim.judge('gate', `g${i}`, t, grey);
      expect(r?.judgements.get('q-lad')?.holds).toBe(false);
      expect(r?.embedded?.vector.length).toBe(5);
    }
    // Within the interval: reused, not embedded again.
    const reused = await sim.judge('gate', 'g-half', t + 300, await jpeg('#e01010'));
    expect(reused?.embedded).toBeNull();
    const red = await sim.judge('gate', 'g-red', t + 1000, await jpeg('#e01010'));
    expect(red?.judgements.get('q-lad')).toMatchObject({ holds: true });
    expect(sim.toJSON()).toMatchObject({ embeddedFrames: 9, reusedFrames: 1, queries: 1 });
  });
});
