import type { Box } from './geometry';
import type { CocoClass } from './query';

/*
 * Cross-camera re-identification without calibration: the scene stage describes each person track's
 * appearance from redacted pixels (never the head), the re-ID stage links a track that starts on one
 * camera to one that ended on another, and an identity is the chain of such links.
 */

/** Bins of an appearance histogram: 8 hues × 2 saturation levels + 3 grey levels. */
export const APPEARANCE_BINS = 19;

/** A person's look, from redacted pixels: colour histograms of the upper and lower body (HSV), the box's build. */
export interface AppearanceDescriptor {
  /** Normalised histograms of APPEARANCE_BINS bins. */
  upper: number[];
  lower: number[];
  /** Box height / width (a walking adult is about 2.5–3.5). */
  aspect: number;
  /** Observations merged into it. */
  samples: number;
}

/**
 * A person track's life as the re-ID stage sees it (bus `tracks.<camera>`): 'appeared' once it has been
 * observed well enough to be described (it may continue a track of another camera: a live handoff),
 * 'ended' when the tracker drops it (it may be continued elsewhere).
 */
export interface TrackEvent {
  event: 'appeared' | 'ended';
  trackId: string;
  camera: string;
  label: CocoClass | string;
  firstSeen: number;
  lastSeen: number;
  /** The last box seen, in frame pixels. */
  box: Box;
  frameWidth: number;
  frameHeight: number;
  /** How it looked when last seen well: its first views when it appeared, its last views when it ended (what a successor is compared with). */
  appearance: AppearanceDescriptor;
  /** 'ended' only: how it looked when it arrived (its first views), to compare with the track it may continue. */
  entry?: AppearanceDescriptor;
}

/** A track that ended on one camera continued by one that started on another. */
export interface ReidLink {
  /** The identity: the first track of the chain. */
  identity: string;
  from: string;
  to: string;
  fromCamera: string;
  toCamera: string;
  /** Seconds from the end of `from` to the start of `to`. */
  transitSeconds: number;
  /** How alike the two looked, 0..1. */
  appearance: number;
  /** How usual the transit time is for this camera pair (its learned density, peak 1), 0..1. */
  transit: number;
  /** appearance × transit, 0..1. */
  confidence: number;
  /** ms epoch the link was made. */
  linkedAt: number;
}

/** One track of an identity, in the order it was seen. */
export interface IdentityTrack {
  trackId: string;
  camera: string;
  label: string;
  firstSeen: number;
  lastSeen: number;
  ended: boolean;
  /** Redacted thumbnails of its best view, when stored. */
  thumbnail: { crop: string; frame: string } | null;
  /** Capture time of its best view (where the follow view plays it). */
  bestAt: number;
}

/** GET /api/identities/:id — a person followed across cameras. */
export interface Identity {
  id: string;
  tracks: IdentityTrack[];
  links: ReidLink[];
  /** Cameras in the order they were visited (a camera visited twice appears twice). */
  path: string[];
  firstSeen: number;
  lastSeen: number;
}

/** One learned camera pair: how many transits were seen and how long one usually takes. */
export interface TopologyEdge {
  from: string;
  to: string;
  transits: number;
  typicalSeconds: number;
}
