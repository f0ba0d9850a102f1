export * from './privacy/index';
export * from './motion/index';
export * from './tracking/index';
