/** Errors of the model plumbing (loading, converting, serving). Expected outcomes are values; these are failures. */
export class InferenceError extends Error {
  override name = 'InferenceError';
}

/** A tfjs graph model could not be converted to ONNX (an op, attribute or dtype the converter does not handle). */
export class ModelConversionError extends InferenceError {
  override name = 'ModelConversionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A model could not be loaded (missing file, bad graph, runtime init failure…). */
export class ModelLoadError extends InferenceError {
  override name = 'ModelLoadError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A model worker died or was terminated with requests in flight. */
export class WorkerExitedError extends InferenceError {
  override name = 'WorkerExitedError';
}

/** A model start, a model request or a whole frame's redaction took longer than allowed. */
export class InferenceTimeoutError extends InferenceError {
  override name = 'InferenceTimeoutError';
  constructor(
    readonly what: string,
    readonly ms: number,
  ) {
    super(`${what} did not finish within ${ms} ms`);
  }
}

/** Used after close(). */
export class DetectorClosedError extends InferenceError {
  override name = 'DetectorClosedError';
  constructor(what: string) {
    super(`${what} is closed`);
  }
}

export function isInferenceError(e: unknown): e is InferenceError {
  return e instanceof InferenceError;
}

export function isModelConversionError(e: unknown): e is ModelConversionError {
  return e instanceof ModelConversionError;
}
