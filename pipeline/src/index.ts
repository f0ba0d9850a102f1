export * from './privacy/index';
