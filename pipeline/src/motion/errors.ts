/** Programming errors of the motion gate (expected outcomes such as "no motion" are values). */
export class MotionError extends Error {
  override name = 'MotionError';
}

/** An option is out of its documented range. */
export class MotionOptionsError extends MotionError {
  override name = 'MotionOptionsError';
}

/** A grey image whose buffer does not hold width × height bytes. */
export class GreyImageError extends MotionError {
  override name = 'GreyImageError';
}

export function isMotionError(e: unknown): e is MotionError {
  return e instanceof MotionError;
}
