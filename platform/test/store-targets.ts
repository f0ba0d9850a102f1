import postgres from 'postgres';
import { afterAll } from 'vitest';
import { parseEnv } from '../src/env';
import { openStore, type SqlStore } from '../src/store/index';

// Only DATABASE_URL: vitest sets MODE=test, which the full env schema rejects.
export const PG_URL = parseEnv({ DATABASE_URL: process.env.DATABASE_URL }).DATABASE_URL;

export interface StoreTarget {
  kind: 'pglite' | 'postgres';
  /** A migrated store on an empty database of its own. */
  open(): Promise<SqlStore>;
}

/** Fresh PostgreSQL schema names under a per-run prefix; all are dropped after the file's tests. */
export function schemaFactory(label: string): () => string {
  const prefix = `ct_${label}_${process.pid}_${Date.now().toString(36)}`;
  const schemas: string[] = [];
  afterAll(async () => {
    if (schemas.length === 0) return;
    const admin = postgres(PG_URL, { max: 1, onnotice: () => undefined, connect_timeout: 5 });
    try {
      for (const s of schemas) await admin.unsafe(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    } finally {
      await admin.end({ timeout: 5 });
    }
  });
  return () => {
    const schema = `${prefix}_${schemas.length}`;
    schemas.push(schema);
    return schema;
  };
}

/** Both Store implementations for a contract suite: PGlite in memory, and PostgreSQL in a fresh schema per test. */
export function storeTargets(label: string): StoreTarget[] {
  const fresh = schemaFactory(label);
  return [
    { kind: 'pglite', open: () => openStore({ kind: 'pglite' }) },
    { kind: 'postgres', open: () => openStore({ kind: 'postgres', url: PG_URL, schema: fresh() }) },
  ];
}

export async function withStore<T>(target: StoreTarget, fn: (store: SqlStore) => Promise<T>): Promise<T> {
  const store = await target.open();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
