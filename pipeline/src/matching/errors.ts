/** Programming errors of the matcher (a query that does not match is a value — no event —, not an error). */
export class MatchingError extends Error {
  override name = 'MatchingError';
}

/** An option is out of its documented range (e.g. hysteresis n > m, m > 32, negative cooldown). */
export class TrackMatcherOptionsError extends MatchingError {
  override name = 'TrackMatcherOptionsError';
}

/** `arm()` was given a plan that does not pass the contracts' `queryPlanSchema`, or an empty query id. */
export class InvalidArmedQueryError extends MatchingError {
  override name = 'InvalidArmedQueryError';
}

export function isMatchingError(e: unknown): e is MatchingError {
  return e instanceof MatchingError;
}
