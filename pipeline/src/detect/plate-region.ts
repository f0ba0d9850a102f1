import type { Box } from '@chronotrace/contracts';

/** Vehicles narrower than this (px) carry no legible plate: no region is added for them. */
export const PLATE_REGION_MIN_VEHICLE_WIDTH = 80;
/** Where a front or rear plate sits in a vehicle box: the middle 44 % of its width, 45–82 % of its height. */
export const PLATE_REGION = { left: 0.28, right: 0.72, top: 0.45, bottom: 0.82 } as const;

/**
 * Where a vehicle's licence plate would be, from the vehicle's box alone: the text detector misses
 * plates that are blurred, dirty, small or seen at an angle, so the privacy stage also hides this region
 * of every vehicle large enough to carry a legible plate (as it hides every person's head). Pure; null for
 * a vehicle too small. On a side view it hides a patch of the door: privacy first.
 */
export function plateRegion(vehicle: Box): Box | null {
  if (!(vehicle.w >= PLATE_REGION_MIN_VEHICLE_WIDTH) || !(vehicle.h > 0)) return null;
  const r: Box = {
    x: vehicle.x + vehicle.w * PLATE_REGION.left,
    y: vehicle.y + vehicle.h * PLATE_REGION.top,
    w: vehicle.w * (PLATE_REGION.right - PLATE_REGION.left),
    h: vehicle.h * (PLATE_REGION.bottom - PLATE_REGION.top),
    label: 'plate-region',
  };
  if (vehicle.score !== undefined) r.score = vehicle.score;
  return r;
}
