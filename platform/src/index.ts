export * from './logger';
export * from './env';
export * from './bus/index';
export * from './store/index';
export * from './streams-config';
export * from './stage-stats';
export * from './ports';
export * from './camera-catalog';
