export * from './scene-core';
export * from './scene-stage';
export * from './partition';
