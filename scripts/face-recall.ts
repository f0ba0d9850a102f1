/**
 * `npm run face-recall`: the privacy stage's face detector on the face evaluation set
 * (pipeline/test/privacy/face-eval-set.ts: the 3 close-up photos, and each of their faces pasted into a
 * 640×480 street frame at 12–96 px, as is and mirrored: 69 faces), whole-frame pass as the stage runs
 * it. Prints recall per face-size bucket, false boxes and ms per frame, then one JSON line.
 */
import { FaceDetector } from '../pipeline/src/privacy/face-detector';
import { closeUps, matches, smallFaces } from '../pipeline/test/privacy/face-eval-set';

const SIZES = [12, 16, 20, 24, 28, 32, 40, 48, 64, 80, 96];
const detector = new FaceDetector();
await detector.start();
const buckets = new Map<string, { found: number; total: number }>();
let falseBoxes = 0;
let ms = 0;
let frames = 0;
const frameSet = [...(await closeUps()).map((f) => ({ ...f, bucket: 'close-up' })), ...(await smallFaces(SIZES, { mirrored: true })).map((f) => ({ ...f, bucket: `${/(\d+)px/.exec(f.name)?.[1]} px` }))];
for (const f of frameSet) {
  const r = await detector.detect(f.jpeg, { width: f.width, height: f.height });
  ms += r.ms;
  frames++;
  const b = buckets.get(f.bucket) ?? { found: 0, total: 0 };
  b.found += f.faces.filter((t) => matches(t, r.boxes)).length;
  b.total += f.faces.length;
  buckets.set(f.bucket, b);
  falseBoxes += r.boxes.filter((box) => !f.faces.some((t) => matches(t, [box]))).length;
}
await detector.close();
let found = 0;
let total = 0;
for (const [bucket, b] of buckets) {
  found += b.found;
  total += b.total;
  process.stdout.write(`${bucket.padEnd(9)} ${b.found}/${b.total}\n`);
}
const atLeast16 = [...buckets].filter(([k]) => k === 'close-up' || Number.parseInt(k, 10) >= 16).reduce((a, [, b]) => ({ found: a.found + b.found, total: a.total + b.total }), { found: 0, total: 0 });
process.stdout.write(`all       ${found}/${total} (recall ${(found / total).toFixed(3)}), ≥ 16 px ${atLeast16.found}/${atLeast16.total} (${(atLeast16.found / atLeast16.total).toFixed(3)}), false boxes ${falseBoxes}, ${(ms / frames).toFixed(1)} ms per frame\n`);
process.stdout.write(
  `${JSON.stringify({ faces: total, found, recall: found / total, recall_16px_up: atLeast16.found / atLeast16.total, false_boxes: falseBoxes, ms_per_frame: ms / frames, model: detector.models.map((m) => m.name), buckets: Object.fromEntries(buckets) })}\n`,
);
