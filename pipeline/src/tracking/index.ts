export * from './errors';
export * from './zones';
export * from './association';
export type { Track, TrackerDetection, TrackState, PathPoint } from './track';
export * from './tracker';
