export * from './embedder';
export * from './clip-tokenizer';
export * from './clip-onnx-embedder';
export * from './similarity-calibrator';
export * from './frame-similarity';
export * from './bedrock-nova-embedder';
export * from './open-embedder';
