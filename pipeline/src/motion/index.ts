export * from './errors';
export * from './grey-image';
export * from './changed-regions';
export * from './motion-gate';
