import type { BasicColor, CocoClass, ColorPart } from '@chronotrace/contracts';
import type { Track } from '../tracking/index';
import type { CarriedItem } from './carried-objects';

/** Colours per part as the attribute stage gives them (`ColorAttributes` fits); only `colors` is read. */
export type TrackColors = Partial<Record<ColorPart, { dominant: BasicColor; colors: readonly { color: BasicColor; fraction: number }[] }>>;

/** A confirmed track of one frame, with what the matcher needs beyond the tracker's snapshot. */
export interface MatchTrack extends Track {
  /** Colours per part (`colorAttributes`). Absent: every colour constraint fails. */
  attributes?: TrackColors;
  /** Classes of the objects this track carries on this frame (`carriedObjects`). Absent: carries nothing. */
  carrying?: readonly CocoClass[];
  /** The same objects with their colours; when given it is used instead of `carrying` (needed for "a red backpack"). */
  carried?: readonly CarriedItem[];
}
