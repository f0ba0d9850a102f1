/** Programming errors of the tracker (a stale frame or an unmatched detection are values, not errors). */
export class TrackingError extends Error {
  override name = 'TrackingError';
}

/** An option is out of its documented range, or zones were given without a frame size. */
export class TrackerOptionsError extends TrackingError {
  override name = 'TrackerOptionsError';
}

export function isTrackingError(e: unknown): e is TrackingError {
  return e instanceof TrackingError;
}
