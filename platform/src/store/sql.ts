/**
 * The tiny SQL surface the repositories are written against, once, for both PGlite and PostgreSQL.
 * Parameters are positional (`$1`, `$2`…). JSON goes in as a JSON.stringify'd string cast `$n::text::jsonb`
 * (the `text` step matters: `postgres` serialises a parameter it learns is jsonb with JSON.stringify
 * again, storing a JSON string instead of the object),
 * binary as a Uint8Array; int8 columns may come back as number or string (driver-dependent), so row
 * mappers convert with `toNumber`.
 */
export type SqlValue = string | number | boolean | null | Uint8Array;

/** Something that runs SQL: a connection, a pool or an open transaction. */
export interface SqlSession {
  query<T extends object>(text: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

/** A database: a session that can also open a transaction. Transactions do not nest. */
export interface SqlDatabase extends SqlSession {
  transaction<T>(fn: (tx: SqlSession) => Promise<T>): Promise<T>;
}

/** int8 and numeric come back as strings from `postgres`, as numbers from PGlite. */
export function toNumber(value: number | string | bigint): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) throw new TypeError(`expected a number from the database, got ${String(value)}`);
  return n;
}

/** A plain Uint8Array copy (the `postgres` driver returns Node Buffers, often views on a shared pool). */
export function toBytes(value: Uint8Array): Uint8Array {
  return new Uint8Array(value);
}

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 10_000;

/** Validates a caller's `limit`; a negative or fractional limit is a programming error. */
export function listLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  return Math.min(limit, MAX_LIST_LIMIT);
}

/** Quotes an identifier we chose ourselves (schema names); rejects anything outside a safe alphabet. */
export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new RangeError(`"${name}" is not a safe identifier: use 1–63 characters of a-z, 0-9 and "_", not starting with a digit`);
  }
  return `"${name}"`;
}
