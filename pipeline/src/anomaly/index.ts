export * from './anomaly-engine';
export * from './site';
