export * from './errors';
export * from './time-window';
export type { MatchTrack, TrackColors } from './match-track';
export * from './carried-objects';
export * from './track-matcher';
