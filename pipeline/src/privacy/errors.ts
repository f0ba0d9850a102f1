import { InferenceTimeoutError } from '../inference/errors';

/** Programming and infrastructure errors of the privacy stage (expected outcomes are values: `{ ok: false, reason }`). */
export class PrivacyError extends Error {
  override name = 'PrivacyError';
}

// Model loading and worker errors belong to the inference plumbing; re-exported for the privacy stage's callers.
export { DetectorClosedError, InferenceTimeoutError, ModelLoadError, WorkerExitedError } from '../inference/errors';

export function isPrivacyError(e: unknown): e is PrivacyError {
  return e instanceof PrivacyError;
}

/** Races a promise against a timer; the timer never keeps the process alive. */
export async function withTimeout<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new InferenceTimeoutError(what, ms)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
