import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { meanAbsDiff } from './support/images';
import { startTestRuntime, waitFor, type TestRuntime } from './support/runtime';

const run = promisify(execFile);
// Debian opencv-doc: a photo with faces, repeated as a camera.
const PITCH_IMAGE = '/usr/share/doc/opencv-doc/examples/data/messi5.jpg';

/** What is recorded is the redacted picture: the faces in a decoded recorded frame are those of the redacted frame, not the raw photo's. */
describe('the recording holds redacted video only', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await startTestRuntime([{ id: 'pitch', name: 'Pitch', source: PITCH_IMAGE, fps: 2, width: 480 }], { RECORDING: 'on', RECORDING_MIN_FREE_MB: '0' });
  }, 90_000);
  afterAll(async () => t?.close());

  it('pixelates the faces in the recorded segments', async () => {
    const seg = await waitFor('a recorded segment', async () => (await t.runtime.ports.store.recordings.list('pitch'))[0], 60_000, 300);
    const snap = await t.runtime.web.wall.snapshot('pitch');
    expect(snap).not.toBeNull();
    const { width, height } = snap!.meta;
    const faces = snap!.meta.redaction.faces.map((f) => ({ x: f.x, y: f.y, w: f.w, h: f.h }));
    expect(faces.length).toBeGreaterThan(0);
    const root = join(t.dataDir, 'media');
    const joined = Buffer.concat([await readFile(join(root, seg.initPath)), await readFile(join(root, seg.path))]);
    await writeFile(join(t.dataDir, 'probe.mp4'), joined);
    await run('ffmpeg', ['-v', 'error', '-y', '-i', join(t.dataDir, 'probe.mp4'), '-frames:v', '1', join(t.dataDir, 'probe.png')]);
    const rgb = (img: sharp.Sharp): Promise<Buffer> => img.resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer();
    const recorded = await rgb(sharp(join(t.dataDir, 'probe.png')));
    const redacted = await rgb(sharp(snap!.jpeg));
    const raw = await rgb(sharp(PITCH_IMAGE));
    const toRedacted = meanAbsDiff(recorded, redacted, width, faces);
    const toRaw = meanAbsDiff(recorded, raw, width, faces);
    // The still camera's frames are all alike: the recorded frame is the redacted picture (up to H.264 loss), far from the raw faces.
    expect(meanAbsDiff(recorded, redacted, width, [])).toBeLessThan(12);
    expect(toRaw, `inside faces: ${toRedacted.toFixed(1)} from redacted, ${toRaw.toFixed(1)} from raw`).toBeGreaterThan(2 * toRedacted);
  });
});
