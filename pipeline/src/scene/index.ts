export * from './scene-core';
export * from './scene-stage';
export * from './partition';
export * from './track-summarizer';
export * from './thumbnails';
