import { isCocoClass, type Box, type CarriedItem, type CocoClass } from '@chronotrace/contracts';
import type { Track } from '../tracking/index';
import type { TrackColors } from './match-track';

export type { CarriedItem } from '@chronotrace/contracts';

export interface CarriedObjectsOptions {
  /** Classes that can be carried. Default backpack, handbag, suitcase, umbrella. */
  objects?: readonly CocoClass[];
  /** Classes that can carry. Default person. */
  carriers?: readonly string[];
  /** Minimum share of the object's box inside the carrier's box. Default 0.3. */
  minOverlap?: number;
}

export const DEFAULT_CARRIED_OBJECTS_OPTIONS = {
  objects: ['backpack', 'handbag', 'suitcase', 'umbrella'] as readonly CocoClass[],
  carriers: ['person'] as readonly string[],
  minOverlap: 0.3,
} as const;

/** Share of `object`'s area inside `carrier`, 0..1 (0 for an empty object box). */
export function overlapShare(carrier: Box, object: Box): number {
  const area = object.w * object.h;
  if (area <= 0) return 0;
  const w = Math.min(carrier.x + carrier.w, object.x + object.w) - Math.max(carrier.x, object.x);
  const h = Math.min(carrier.y + carrier.h, object.y + object.h) - Math.max(carrier.y, object.y);
  return w <= 0 || h <= 0 ? 0 : (w * h) / area;
}

/**
 * Carried objects per carrier track id, for one frame's tracks of one camera: an object track of a
 * carried class whose box overlaps a carrier's box by at least `minOverlap` of the object's area,
 * both seen on the same frame (equal `lastSeen`; a coasting track's box is stale). Lost tracks are
 * skipped; tentative object tracks count (small bags confirm late). Carriers with nothing are absent.
 */
export function carriedObjects(
  tracks: readonly (Track & { attributes?: TrackColors })[],
  options: CarriedObjectsOptions = {},
): Map<string, CarriedItem[]> {
  const objects = options.objects ?? DEFAULT_CARRIED_OBJECTS_OPTIONS.objects;
  const carriers = options.carriers ?? DEFAULT_CARRIED_OBJECTS_OPTIONS.carriers;
  const minOverlap = options.minOverlap ?? DEFAULT_CARRIED_OBJECTS_OPTIONS.minOverlap;
  const out = new Map<string, CarriedItem[]>();
  const carried = tracks.filter((t) => t.state !== 'lost' && isCocoClass(t.label) && objects.includes(t.label));
  if (carried.length === 0) return out;
  for (const carrier of tracks) {
    if (carrier.state === 'lost' || !carriers.includes(carrier.label)) continue;
    for (const object of carried) {
      if (object.lastSeen !== carrier.lastSeen || object.id === carrier.id) continue;
      const overlap = overlapShare(carrier.box, object.box);
      if (overlap < minOverlap) continue;
      const item: CarriedItem = {
        trackId: object.id,
        label: object.label as CocoClass,
        overlap,
        colors: (object.attributes?.any?.colors ?? []).map((c) => c.color),
      };
      const list = out.get(carrier.id);
      if (list) list.push(item);
      else out.set(carrier.id, [item]);
    }
  }
  return out;
}

/** The frame's tracks with `carrying` and `carried` filled in from `carriedObjects`, ready for the matcher. */
export function withCarriedObjects<T extends Track & { attributes?: TrackColors }>(
  tracks: readonly T[],
  options: CarriedObjectsOptions = {},
): (T & { carrying: CocoClass[]; carried: CarriedItem[] })[] {
  const byCarrier = carriedObjects(tracks, options);
  return tracks.map((t) => {
    const carried = byCarrier.get(t.id) ?? [];
    return { ...t, carried, carrying: [...new Set(carried.map((c) => c.label))] };
  });
}
