export * from './coco';
export * from './coco-decoders';
export * from './head-region';
export type { ObjectModel, ObjectDetectParams } from './object-detector.protocol';
export * from './object-detector';
export * from './plate-region';
