export * from './match-stage';
export * from './analytics-service';
