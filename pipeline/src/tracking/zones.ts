import type { Box, CameraConfig } from '@chronotrace/contracts';

/** A zone as the streams config declares it: a name and a polygon in normalised coordinates (0..1, origin top-left). */
export type Zone = CameraConfig['zones'][number];

export interface Point {
  x: number;
  y: number;
}

/**
 * Even-odd ray casting: is the point inside the polygon? `polygon` is a list of `[x, y]` vertices
 * in any one coordinate system (the point must use the same). Points exactly on an edge may fall
 * either way, which is fine for zone membership.
 */
export function pointInPolygon(point: Point, polygon: readonly (readonly [number, number])[]): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i];
    const b = polygon[j];
    if (a === undefined || b === undefined) continue;
    const [xi, yi] = a;
    const [xj, yj] = b;
    if (yi > point.y !== yj > point.y && point.x < ((xj - xi) * (point.y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Where an object stands: the bottom-centre of its box (in the box's pixels). */
export function footPoint(box: Box): Point {
  return { x: box.x + box.w / 2, y: box.y + box.h };
}

/** Names of the zones containing a point given in frame pixels, for a frame of the given size. */
export function zonesAt(point: Point, zones: readonly Zone[], frameWidth: number, frameHeight: number): string[] {
  const normalised = { x: point.x / frameWidth, y: point.y / frameHeight };
  return zones.filter((z) => pointInPolygon(normalised, z.polygon)).map((z) => z.name);
}
