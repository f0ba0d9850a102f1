import type { Logger } from './logger';

/**
 * A stage process's shutdown: on the first SIGTERM or SIGINT, log, run `drain` (stop taking work,
 * finish what is in flight, close ports), then exit 0, or 1 when draining failed. Later signals are ignored.
 */
export function exitAfterDrainOnSignal(log: Logger, drain: () => Promise<unknown>): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining');
    drain().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/**
 * Wraps an async refresh so concurrent calls coalesce: while one runs, any number of further calls
 * cause exactly one more run after it, and all of them resolve when that run is done.
 */
export function coalescing(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await run();
      } while (again);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
}
