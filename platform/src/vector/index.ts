export * from './vector-index';
export * from './usearch-vector-index';
export * from './qdrant-vector-index';
export * from './open-vector-index';
