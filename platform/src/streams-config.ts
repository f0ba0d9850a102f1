import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatIssues, streamsConfigSchema, type StreamsConfig } from '@chronotrace/contracts';

/** The streams config failed validation; `details` has one `path: message` line per bad field. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly details: string[],
  ) {
    super(`invalid config ${file}:\n  ${details.join('\n  ')}`);
  }
  static is(e: unknown): e is ConfigError {
    return e instanceof ConfigError;
  }
}

/** Validates an already-loaded config object; throws ConfigError naming every bad field. */
export function validateStreamsConfig(input: unknown, file = '(inline)'): StreamsConfig {
  const r = streamsConfigSchema.safeParse(input);
  if (!r.success) throw new ConfigError(file, formatIssues(r.error.issues));
  return r.data;
}

/**
 * Loads `streams.config.ts` (or .js/.mjs/.json) — its default export — and validates it.
 * TypeScript configs need the process to run under tsx, as `npm start` does.
 */
export async function loadStreamsConfig(path: string): Promise<StreamsConfig> {
  const file = resolve(path);
  if (!existsSync(file)) throw new ConfigError(file, ['(file): not found']);
  let mod: { default?: unknown };
  try {
    mod = file.endsWith('.json')
      ? ((await import(pathToFileURL(file).href, { with: { type: 'json' } })) as { default?: unknown })
      : ((await import(pathToFileURL(file).href)) as { default?: unknown });
  } catch (e) {
    throw new ConfigError(file, [`(file): cannot be loaded: ${(e as Error).message}`]);
  }
  if (mod.default === undefined) throw new ConfigError(file, ['(file): has no default export']);
  return validateStreamsConfig(mod.default, file);
}
