import type { Box } from '@chronotrace/contracts';

export type BoxSize = 'small' | 'medium' | 'large';

/**
 * Size classes by the share of the frame's height the box covers (inside the frame). Height, not
 * area, because it is what distance changes for a standing person and is stable as people turn.
 * Below `medium` (15 %) is small: a person far away, roughly fewer than 160 px on 1080p, where
 * colours are least reliable; from `large` (45 %) on: close to the camera.
 */
export const BOX_SIZE_THRESHOLDS = { medium: 0.15, large: 0.45 } as const;

/** 'small' | 'medium' | 'large' by the visible height of the box as a share of the frame's height. */
export function boxSize(box: Box, frame: { height: number }): BoxSize {
  const top = Math.max(0, box.y);
  const bottom = Math.min(frame.height, box.y + box.h);
  const share = frame.height > 0 ? Math.max(0, bottom - top) / frame.height : 0;
  if (share >= BOX_SIZE_THRESHOLDS.large) return 'large';
  if (share >= BOX_SIZE_THRESHOLDS.medium) return 'medium';
  return 'small';
}
