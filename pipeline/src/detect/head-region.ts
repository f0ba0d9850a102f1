import type { Box } from '@chronotrace/contracts';

/** Share of a person box's height, from the top, that holds the head (a standing adult's head is ≈ 1/7–1/8, plus hair, hats and a tilt). */
export const HEAD_HEIGHT_RATIO = 0.22;
/** Extra width on each side, as a share of the person box's width (heads turn, boxes are loose). */
export const HEAD_WIDEN_RATIO = 0.1;

/**
 * Where a person's head is, from the person's box alone: the top HEAD_HEIGHT_RATIO of it, widened by
 * HEAD_WIDEN_RATIO of its width on each side. The privacy stage redacts this region for every person, so
 * small, distant faces are hidden even when the face detector misses them. Pure; may extend past the
 * frame edges (clampToFrame does the clipping). Keeps the score; the label becomes 'person-head'.
 */
export function headRegion(person: Box): Box {
  const w = Math.max(0, person.w);
  const h = Math.max(0, person.h);
  const dx = w * HEAD_WIDEN_RATIO;
  const head: Box = { x: person.x - dx, y: person.y, w: w + 2 * dx, h: h * HEAD_HEIGHT_RATIO, label: 'person-head' };
  if (person.score !== undefined) head.score = person.score;
  return head;
}
