/** Programming errors of the query compiler (a query it cannot compile is a value, not an exception). */
export class QueryCompilerError extends Error {
  override name = 'QueryCompilerError';
}

/** A compiler option is unusable, e.g. a zone name with no letters or digits. */
export class QueryCompilerOptionsError extends QueryCompilerError {
  override name = 'QueryCompilerOptionsError';
}

export function isQueryCompilerError(e: unknown): e is QueryCompilerError {
  return e instanceof QueryCompilerError;
}
