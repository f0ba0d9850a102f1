/** Programming errors of the bus (expected outcomes such as 'too-large' are values, see PublishResult). */
export class BusError extends Error {
  override name = 'BusError';
}

/** A camera id that cannot be a subject token (empty, or containing '.', '*', '>' or whitespace). */
export class InvalidCameraError extends BusError {
  override name = 'InvalidCameraError';
  constructor(readonly camera: string) {
    super(`invalid camera id ${JSON.stringify(camera)}: must be a non-empty subject token without '.', '*', '>' or whitespace`);
  }
}

/** A durable name that cannot be a JetStream consumer name. */
export class InvalidDurableError extends BusError {
  override name = 'InvalidDurableError';
  constructor(readonly durable: string) {
    super(`invalid durable name ${JSON.stringify(durable)}: use letters, digits, '_' and '-' only`);
  }
}

/** The bus was used after close(). */
export class BusClosedError extends BusError {
  override name = 'BusClosedError';
  constructor() {
    super('bus is closed');
  }
}

export function isBusError(e: unknown): e is BusError {
  return e instanceof BusError;
}

const CAMERA_TOKEN = /^[^\s.*>]+$/;
const DURABLE_NAME = /^[A-Za-z0-9_-]{1,200}$/;

export function assertCamera(camera: string): void {
  if (!CAMERA_TOKEN.test(camera)) throw new InvalidCameraError(camera);
}

export function assertDurable(durable: string): void {
  if (!DURABLE_NAME.test(durable)) throw new InvalidDurableError(durable);
}
