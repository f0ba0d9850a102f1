/** A migration could not be loaded or applied (bad file name, duplicate version, edited after it was applied, SQL error). */
export class MigrationError extends Error {
  override name = 'MigrationError';
  constructor(
    message: string,
    readonly version?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isMigrationError(err: unknown): err is MigrationError {
  return err instanceof MigrationError;
}

/** The store was used after close(). */
export class StoreClosedError extends Error {
  override name = 'StoreClosedError';
  constructor(kind: string) {
    super(`${kind} store is closed`);
  }
}

export function isStoreClosedError(err: unknown): err is StoreClosedError {
  return err instanceof StoreClosedError;
}
