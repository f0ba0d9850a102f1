import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/**
 * The model workers' sources are TypeScript. `execArgv: ['--import', 'tsx']` is not enough on Node 20
 * (module hooks registered by --import do not reach the worker's entry), so a one-line bootstrap
 * registers tsx (tsx/esm/api `register()`) and then imports the worker. Works under `node --import tsx`
 * and under vitest.
 */
export function workerBootstrap(entry: URL): string {
  // tsx/esm/api resolves to its CommonJS build under require(); the worker imports the ESM one next to it.
  const api = JSON.stringify(pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href);
  return `import(${api}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
}
