export * from './match-stage';
export * from './analytics-service';
export * from './activity';
export * from './activity-service';
