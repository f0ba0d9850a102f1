import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

let root: Logger | undefined;

/** The one logger. Level from LOG_LEVEL (read here, once, because logging starts before env validation). */
export function rootLogger(): Logger {
  if (!root) {
    const level = process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
    root = pino({ level, base: { app: 'chronotrace' } });
  }
  return root;
}

/** A child logger for one component; add ids (camera, frameId) with `.child({...})`. */
export function createLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...bindings });
}
