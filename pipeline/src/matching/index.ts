export * from './errors';
export * from './time-window';
export type { MatchTrack, TrackColors } from './match-track';
export * from './carried-objects';
export * from './track-matcher';
export * from './alert-builder';
export * from './match-core';
export * from './backtest';
