import type { BasicColor, CocoClass, ColorPart } from './query';
import type { Box } from './geometry';

/*
 * What the scene stage (tracking + attributes) publishes for each redacted frame, and what the
 * matcher, the store and backtests read. Shared by pipeline and web.
 */

export type TrackState = 'tentative' | 'confirmed' | 'lost';

export interface PathPoint {
  at: number;
  /** Foot point (bottom-centre of the box) in frame pixels. */
  x: number;
  y: number;
}

/** A snapshot of one track, safe to keep, serialise or publish. */
export interface Track {
  /** `<camera>:<n>`, n counting confirmed tracks of this camera from 1. Stable for the track's life. */
  id: string;
  camera: string;
  label: string;
  /** Last matched box (not the prediction) in frame pixels. */
  box: Box;
  /** Score of the last matched detection. */
  score: number;
  firstSeen: number;
  lastSeen: number;
  /** Frames with a matched detection. */
  hits: number;
  /** Consecutive frames without a match since lastSeen. */
  misses: number;
  /** ms from firstSeen to the frame of this snapshot. */
  age: number;
  /** Foot points of the last matches, oldest first. */
  path: PathPoint[];
  /** Smoothed velocity of the box in px/s. */
  velocity: { x: number; y: number };
  /** |velocity| in px/s. */
  speed: number;
  /** ms spent in each zone the foot point has been in (counted only between two observations both inside). */
  dwell: Record<string, number>;
  /** Zones containing the foot point at the last match. */
  zones: string[];
  state: TrackState;
}

/** Colours per part as the attribute stage names them; `colors` lists the dominant colour first. */
export type TrackColors = Partial<Record<ColorPart, { dominant: BasicColor; colors: readonly { color: BasicColor; fraction: number }[] }>>;

/** One object a subject carries on this frame. */
export interface CarriedItem {
  trackId: string;
  label: CocoClass;
  /** Intersection area / the object's box area, 0..1. */
  overlap: number;
  /** Colours present on the object's box (its `any` part), empty when unknown. */
  colors: BasicColor[];
}

/** A track of one frame with what the matcher needs beyond the tracker's snapshot. */
export interface SceneTrack extends Track {
  /** Colours per part. Absent: every colour constraint fails. */
  attributes?: TrackColors;
  /** 'small' | 'medium' | 'large' by the box's share of the frame height. */
  size?: 'small' | 'medium' | 'large';
  /** Classes of the objects this track carries on this frame. */
  carrying?: readonly CocoClass[];
  /** The same objects with their colours. */
  carried?: readonly CarriedItem[];
}

/** The scene of one frame: its tracks after the tracker and attribute namer ran. */
export interface SceneSummary {
  /** Confirmed and lost tracks (tentative ones may be noise and are left out). */
  tracks: SceneTrack[];
  /** Ids of tracks confirmed on this frame. */
  started: string[];
  /** Ids of tracks that ended on this frame. */
  ended: string[];
  /** Time spent in the scene stage. */
  ms: number;
  /** The colour namer ran on this frame (false when the detector's boxes were reused and colours carried over). */
  attributesFresh: boolean;
}

/** Foot points kept per track on the bus and in the store (the tracker keeps more). */
export const SCENE_PATH_POINTS = 10;
