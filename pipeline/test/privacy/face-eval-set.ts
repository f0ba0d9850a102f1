/**
 * A small face-recall evaluation built from public-domain / sample photos in ../fixtures:
 * each source face is cut out with its head and shoulders, scaled so the face is S px tall, and
 * pasted into a 640×480 street frame (vtest.avi). Close-ups are the source photos themselves.
 * Ground truth = the face box SSD MobileNet gives on the full-size photo (checked by eye).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Box } from '@chronotrace/contracts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export interface EvalFrame {
  name: string;
  jpeg: Buffer;
  width: number;
  height: number;
  faces: Box[];
}

const SOURCES: { file: string; face: Box }[] = [
  { file: 'astronaut.jpg', face: { x: 181, y: 71, w: 84, h: 104 } },
  { file: 'camera.jpg', face: { x: 203, y: 121, w: 51, h: 77 } },
  { file: 'messi.jpg', face: { x: 226, y: 83, w: 32, h: 48 } },
];

export async function fixture(name: string): Promise<Buffer> {
  return readFile(FIXTURES + name);
}

/** Close-ups: the source photos, one face each. */
export async function closeUps(): Promise<EvalFrame[]> {
  return Promise.all(
    SOURCES.map(async (s) => {
      const jpeg = await fixture(s.file);
      const m = await sharp(jpeg).metadata();
      return { name: `close-up ${s.file}`, jpeg, width: m.width ?? 0, height: m.height ?? 0, faces: [s.face] };
    }),
  );
}

/**
 * Small faces: for each face height in `sizes`, one 640×480 street frame holding every source face
 * at that size (head and shoulders, spread across the frame).
 */
export async function smallFaces(sizes: number[] = [16, 20, 24, 28, 32, 40, 48, 64], options: { mirrored?: boolean } = {}): Promise<EvalFrame[]> {
  const background = await sharp(await fixture('street.jpg')).resize(640, 480, { fit: 'fill' }).toBuffer();
  const frames: EvalFrame[] = [];
  for (const size of sizes) for (const mirror of options.mirrored ? [false, true] : [false]) {
    const composites: sharp.OverlayOptions[] = [];
    const faces: Box[] = [];
    for (let i = 0; i < SOURCES.length; i++) {
      const s = SOURCES[i];
      if (!s) continue;
      const src = await fixture(s.file);
      const meta = await sharp(src).metadata();
      const W = meta.width ?? 0;
      const H = meta.height ?? 0;
      // Cut: face box grown to show the head and shoulders (0.8 face widths each side, 0.6 above, 1.4 below).
      const left = Math.max(0, Math.round(s.face.x - 0.8 * s.face.w));
      const top = Math.max(0, Math.round(s.face.y - 0.6 * s.face.h));
      const right = Math.min(W, Math.round(s.face.x + 1.8 * s.face.w));
      const bottom = Math.min(H, Math.round(s.face.y + 2.4 * s.face.h));
      const scale = size / s.face.h;
      const cw = Math.max(1, Math.round((right - left) * scale));
      const ch = Math.max(1, Math.round((bottom - top) * scale));
      const cut = await sharp(src).extract({ left, top, width: right - left, height: bottom - top }).resize(cw, ch, { fit: 'fill' }).flop(mirror).toBuffer();
      const px = 60 + i * 200;
      const py = 120 + ((i + (mirror ? 1 : 0)) % 2) * 120;
      composites.push({ input: cut, left: px, top: py });
      // Mirrored, the face sits at the same distance from the cut's other edge.
      const fx = mirror ? cw - (s.face.x - left) * scale - s.face.w * scale : (s.face.x - left) * scale;
      faces.push({ x: px + fx, y: py + (s.face.y - top) * scale, w: s.face.w * scale, h: s.face.h * scale });
    }
    const jpeg = await sharp(background).composite(composites).jpeg({ quality: 85 }).toBuffer();
    frames.push({ name: `faces ${size}px${mirror ? ' mirrored' : ''}`, jpeg, width: 640, height: 480, faces });
  }
  return frames;
}

/** A face counts as found when a detection overlaps it with IoU ≥ 0.3 (boxes of different models differ in shape). */
export function matches(truth: Box, found: Box[]): boolean {
  return found.some((b) => {
    const ix = Math.max(0, Math.min(truth.x + truth.w, b.x + b.w) - Math.max(truth.x, b.x));
    const iy = Math.max(0, Math.min(truth.y + truth.h, b.y + b.h) - Math.max(truth.y, b.y));
    const inter = ix * iy;
    return inter / (truth.w * truth.h + b.w * b.h - inter) >= 0.3;
  });
}
