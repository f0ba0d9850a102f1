export * from './errors';
export { QueryCompiler, tokenizeQuery, type QueryCompilerOptions } from './query-compiler';
export { explainPlan } from './explain';
export { LOITER_SECONDS, CROWD_MIN, GROUP_MIN, NIGHT, DAYTIME } from './vocabulary';
