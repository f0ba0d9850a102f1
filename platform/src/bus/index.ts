export * from './bus';
export * from './errors';
export * from './options';
export * from './in-process-bus';
export * from './jetstream-bus';
export * from './newest-per-camera';
