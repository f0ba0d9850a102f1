/** Programming and infrastructure errors of the privacy stage (expected outcomes are values: `{ ok: false, reason }`). */
export class PrivacyError extends Error {
  override name = 'PrivacyError';
}

/** A detector or the redactor took longer than allowed. */
export class PrivacyTimeoutError extends PrivacyError {
  override name = 'PrivacyTimeoutError';
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what} did not finish within ${ms} ms`);
  }
}

// Model loading and worker errors belong to the inference plumbing; re-exported for the privacy stage's callers.
export { DetectorClosedError, ModelLoadError, WorkerExitedError } from '../inference/errors';

export function isPrivacyError(e: unknown): e is PrivacyError {
  return e instanceof PrivacyError;
}

/** Races a promise against a timer; the timer never keeps the process alive. */
export async function withTimeout<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PrivacyTimeoutError(what, ms)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
