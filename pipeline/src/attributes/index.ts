export * from './errors';
export * from './rgb-image';
export * from './color-palette';
export * from './color-namer';
export * from './box-size';
