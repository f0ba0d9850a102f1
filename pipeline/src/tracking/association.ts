import type { Box } from '@chronotrace/contracts';

/** Intersection over union of two boxes (0 when disjoint or empty). */
export function boxIou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

export interface Assignment {
  /** Index into the track list. */
  track: number;
  /** Index into the detection list. */
  detection: number;
  iou: number;
}

export interface AssociationResult {
  matches: Assignment[];
  unmatchedTracks: number[];
  unmatchedDetections: number[];
}

export interface AssociationOptions {
  /** Minimum IoU for a pair. */
  minIou: number;
  /**
   * After the IoU pass, also pair leftovers whose centres are at most this many times the track
   * box's larger side apart (nearest first). For tracks with no velocity yet: at 2 fps a car moves
   * more than its own length per frame, so IoU alone would never let it confirm. Default 0 (off).
   */
  maxCentreDistance?: number;
}

/**
 * Greedy IoU association, as in many SORT ports: take the pair with the highest IoU, remove both,
 * repeat while IoU ≥ minIou. Pairs with different labels never match. Ties are broken by track
 * then detection order, so the result is deterministic. With the velocity-predicted boxes the
 * tracker passes in, greedy matches Hungarian on all but contrived layouts, at a fraction of the
 * code.
 */
export function associateByIou(
  tracks: readonly { box: Box; label: string }[],
  detections: readonly { box: Box; label: string }[],
  options: AssociationOptions,
): AssociationResult {
  const { minIou, maxCentreDistance = 0 } = options;
  const pairs: Assignment[] = [];
  for (let t = 0; t < tracks.length; t++) {
    const track = tracks[t];
    if (track === undefined) continue;
    for (let d = 0; d < detections.length; d++) {
      const det = detections[d];
      if (det === undefined || det.label !== track.label) continue;
      const iou = boxIou(track.box, det.box);
      if (iou >= minIou && iou > 0) pairs.push({ track: t, detection: d, iou });
    }
  }
  pairs.sort((a, b) => b.iou - a.iou || a.track - b.track || a.detection - b.detection);
  const usedTracks = new Set<number>();
  const usedDetections = new Set<number>();
  const matches: Assignment[] = [];
  const take = (candidates: readonly Assignment[]): void => {
    for (const p of candidates) {
      if (usedTracks.has(p.track) || usedDetections.has(p.detection)) continue;
      usedTracks.add(p.track);
      usedDetections.add(p.detection);
      matches.push(p);
    }
  };
  take(pairs);
  if (maxCentreDistance > 0) take(nearPairs(tracks, detections, usedTracks, usedDetections, maxCentreDistance));
  return {
    matches,
    unmatchedTracks: tracks.map((_, i) => i).filter((i) => !usedTracks.has(i)),
    unmatchedDetections: detections.map((_, i) => i).filter((i) => !usedDetections.has(i)),
  };
}

/** Same-label leftover pairs within maxCentreDistance × the track box's larger side, nearest first (iou reported as 0). */
function nearPairs(
  tracks: readonly { box: Box; label: string }[],
  detections: readonly { box: Box; label: string }[],
  usedTracks: ReadonlySet<number>,
  usedDetections: ReadonlySet<number>,
  maxCentreDistance: number,
): Assignment[] {
  const near: (Assignment & { distance: number })[] = [];
  for (let t = 0; t < tracks.length; t++) {
    const track = tracks[t];
    if (track === undefined || usedTracks.has(t)) continue;
    const tb = track.box;
    const reach = maxCentreDistance * Math.max(tb.w, tb.h);
    for (let d = 0; d < detections.length; d++) {
      const det = detections[d];
      if (det === undefined || usedDetections.has(d) || det.label !== track.label) continue;
      const db = det.box;
      // A box of very different size is another object, however close.
      const sizeRatio = (db.w * db.h) / Math.max(1e-9, tb.w * tb.h);
      if (sizeRatio > 2.5 || sizeRatio < 0.4) continue;
      const distance = Math.hypot(db.x + db.w / 2 - (tb.x + tb.w / 2), db.y + db.h / 2 - (tb.y + tb.h / 2));
      if (distance <= reach) near.push({ track: t, detection: d, iou: boxIou(tb, db), distance });
    }
  }
  return near.sort((a, b) => a.distance - b.distance || a.track - b.track || a.detection - b.detection);
}
