import type { Box } from '@chronotrace/contracts';

/** Integer pixel rectangle inside a frame: what sharp's extract/composite take. */
export interface PixelRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Grows a box by `margin` × its size on every side (0.15 → 15 % of the width left and right,
 * 15 % of the height above and below), so the edge of a face or plate is covered too.
 */
export function growBox(box: Box, margin: number): Box {
  const dx = box.w * Math.max(0, margin);
  const dy = box.h * Math.max(0, margin);
  return { ...box, x: box.x - dx, y: box.y - dy, w: box.w + 2 * dx, h: box.h + 2 * dy };
}

/**
 * Clamps a box to the frame and rounds outwards to whole pixels (never inwards: a redaction
 * must cover at least the detected area). Returns null when nothing of the box is inside the frame.
 */
export function clampToFrame(box: Box, frameWidth: number, frameHeight: number): PixelRect | null {
  if (![box.x, box.y, box.w, box.h].every(Number.isFinite)) return null;
  const left = Math.max(0, Math.floor(box.x));
  const top = Math.max(0, Math.floor(box.y));
  const right = Math.min(frameWidth, Math.ceil(box.x + box.w));
  const bottom = Math.min(frameHeight, Math.ceil(box.y + box.h));
  if (right - left < 1 || bottom - top < 1) return null;
  return { left, top, width: right - left, height: bottom - top };
}

/** Intersection over union of two boxes (0 when disjoint). */
export function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/** Fraction of `inner` covered by `outer` (1 when fully inside). */
export function coverage(inner: Box, outer: Box): number {
  const ix = Math.max(0, Math.min(inner.x + inner.w, outer.x + outer.w) - Math.max(inner.x, outer.x));
  const iy = Math.max(0, Math.min(inner.y + inner.h, outer.y + outer.h) - Math.max(inner.y, outer.y));
  const area = inner.w * inner.h;
  return area > 0 ? (ix * iy) / area : 0;
}

/** Rounds a model box to 0.1 px so records stay small and comparable. */
export function roundBox(box: Box): Box {
  const r = (v: number): number => Math.round(v * 10) / 10;
  const out: Box = { x: r(box.x), y: r(box.y), w: r(box.w), h: r(box.h) };
  if (box.score !== undefined) out.score = Math.round(box.score * 1000) / 1000;
  if (box.label !== undefined) out.label = box.label;
  return out;
}
