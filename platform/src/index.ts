export * from './logger';
export * from './env';
export * from './bus/index';
export * from './store/index';
