import type { Box } from '@chronotrace/contracts';
import { iou } from '../privacy/box-geometry';
import { COCO_CLASSES, type CocoClassName } from './coco';

/** One object in frame pixels. */
export type DetectedObject = Box & { label: CocoClassName; score: number };

/** Frame size and the square the model saw (the frame is stretched to inputSize × inputSize). */
export interface DecodeFrame {
  width: number;
  height: number;
  inputSize: number;
}

/** Model-input corners → a frame box clipped to the frame; null when nothing of it is left. */
function toFrameBox(x1: number, y1: number, x2: number, y2: number, f: DecodeFrame, classIndex: number, score: number): DetectedObject | null {
  const label = COCO_CLASSES[classIndex];
  if (label === undefined || ![x1, y1, x2, y2, score].every(Number.isFinite)) return null;
  const sx = f.width / f.inputSize;
  const sy = f.height / f.inputSize;
  const left = Math.min(f.width, Math.max(0, x1 * sx));
  const top = Math.min(f.height, Math.max(0, y1 * sy));
  const right = Math.min(f.width, Math.max(0, x2 * sx));
  const bottom = Math.min(f.height, Math.max(0, y2 * sy));
  if (right - left < 1 || bottom - top < 1) return null;
  return { x: left, y: top, w: right - left, h: bottom - top, label, score };
}

/**
 * CenterNet (MobileNetV3, tfjs graph `tower_0/detections`): [1, 100, 6] rows of
 * x1, y1, x2, y2 (model-input pixels), score, class index (0 = person); top-k already done in the graph.
 */
export function decodeCenternet(detections: Float32Array, f: DecodeFrame, minScore: number): DetectedObject[] {
  const out: DetectedObject[] = [];
  for (let i = 0; i + 6 <= detections.length; i += 6) {
    const score = detections[i + 4] as number;
    if (!(score >= minScore)) continue;
    const cls = detections[i + 5] as number;
    if (!Number.isInteger(cls)) continue;
    const box = toFrameBox(detections[i] as number, detections[i + 1] as number, detections[i + 2] as number, detections[i + 3] as number, f, cls, score);
    if (box) out.push(box);
  }
  return out;
}

/** One NanoDet head level: a square grid of `stride`-pixel cells. */
export interface NanodetLevel {
  stride: number;
  /** [cells, 80] class scores (already sigmoid). */
  scores: Float32Array;
  /** [cells, 4 × bins] distance distributions for left, top, right, bottom. */
  regs: Float32Array;
}

/** Bins per side in NanoDet-m's GFL head (reg_max 10 → 11 bins; the graph's 44 = 4 × 11). */
export const NANODET_BINS = 11;

/**
 * NanoDet-m (GFL head, strides 8/16/32): each cell has 80 sigmoid scores and, per side, a softmax
 * distribution over NANODET_BINS distances; the distance is its expectation × stride, measured from
 * the cell centre ((col + 0.5) × stride, (row + 0.5) × stride).
 */
export function decodeNanodet(levels: readonly NanodetLevel[], f: DecodeFrame, minScore: number): DetectedObject[] {
  const out: DetectedObject[] = [];
  const classes = COCO_CLASSES.length;
  const side = new Float64Array(4);
  for (const level of levels) {
    const n = Math.round(f.inputSize / level.stride);
    const cells = level.scores.length / classes;
    const bins = level.regs.length / cells / 4;
    if (cells !== n * n || !Number.isInteger(bins)) throw new RangeError(`nanodet level stride ${level.stride}: ${cells} cells, ${bins} bins`);
    for (let cell = 0; cell < cells; cell++) {
      let decoded = false;
      for (let c = 0; c < classes; c++) {
        const score = level.scores[cell * classes + c] as number;
        if (!(score >= minScore)) continue;
        if (!decoded) {
          for (let s = 0; s < 4; s++) side[s] = expectation(level.regs, (cell * 4 + s) * bins, bins) * level.stride;
          decoded = true;
        }
        const cx = ((cell % n) + 0.5) * level.stride;
        const cy = (Math.floor(cell / n) + 0.5) * level.stride;
        const box = toFrameBox(cx - (side[0] as number), cy - (side[1] as number), cx + (side[2] as number), cy + (side[3] as number), f, c, score);
        if (box) out.push(box);
      }
    }
  }
  return out;
}

/** Σ softmax(v)ᵢ · i over v = a[from .. from + bins). */
function expectation(a: Float32Array, from: number, bins: number): number {
  let max = -Infinity;
  for (let i = 0; i < bins; i++) max = Math.max(max, a[from + i] as number);
  let z = 0;
  let sum = 0;
  for (let i = 0; i < bins; i++) {
    const e = Math.exp((a[from + i] as number) - max);
    z += e;
    sum += e * i;
  }
  return sum / z;
}

/**
 * Greedy per-class non-maximum suppression: best score first, a box is dropped when it overlaps a kept
 * box of the same label with IoU > iouThreshold. Returns at most maxResults boxes, best first.
 */
export function nonMaxSuppression(boxes: readonly DetectedObject[], iouThreshold: number, maxResults: number): DetectedObject[] {
  const sorted = [...boxes].sort((a, b) => b.score - a.score);
  const kept: DetectedObject[] = [];
  for (const b of sorted) {
    if (kept.length >= maxResults) break;
    if (!kept.some((k) => k.label === b.label && iou(k, b) > iouThreshold)) kept.push(b);
  }
  return kept;
}
