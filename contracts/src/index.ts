export * from './config';
export * from './bus';
export * from './geometry';
export * from './health';
export * from './api';
export * from './socket';
export * from './query';
