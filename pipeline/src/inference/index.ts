export * from './errors';
export * from './tfjs-graph';
export * from './tfjs-to-onnx';
export * from './onnx-models';
export * from './image-tensor';
export * from './latency-window';
export * from './model-worker';
export * from './worker-bootstrap';
