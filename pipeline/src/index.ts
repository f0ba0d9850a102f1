export * from './privacy/index';
export * from './motion/index';
export * from './tracking/index';
export * from './query/index';
export * from './detect/index';
export * from './attributes/index';
export * from './matching/index';
