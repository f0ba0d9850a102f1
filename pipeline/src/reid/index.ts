export * from './appearance';
export * from './linker';
export * from './describer';
export * from './reid-core';
export * from './reid-stage';
export * from './identity-service';
