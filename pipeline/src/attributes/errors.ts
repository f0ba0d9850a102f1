/** Programming errors of the attribute stage (expected outcomes such as "box outside the frame" are values). */
export class AttributeError extends Error {
  override name = 'AttributeError';
}

/** An option is out of its documented range. */
export class AttributeOptionsError extends AttributeError {
  override name = 'AttributeOptionsError';
}

/** An RGB image whose buffer does not hold width × height × 3 bytes. */
export class RgbImageError extends AttributeError {
  override name = 'RgbImageError';
}

export function isAttributeError(e: unknown): e is AttributeError {
  return e instanceof AttributeError;
}
