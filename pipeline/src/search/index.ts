export * from './search-service';
export * from './time-phrases';
export * from './zoned-time';
export * from './keyframe-indexer';
