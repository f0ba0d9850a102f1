import { PgliteStore } from './pglite-store';
import { PostgresStore } from './postgres-store';
import type { SqlStore } from './sql-store';

export type StoreOptions =
  | { kind: 'pglite'; /** Folder; undefined = in memory. */ dataDir?: string }
  | { kind: 'postgres'; url: string; /** Isolating schema; default the server's search_path. */ schema?: string };

/** Opens the configured Store (a SqlStore, which is a Store) and applies pending migrations; closes it again if migrating fails. */
export async function openStore(options: StoreOptions): Promise<SqlStore> {
  const store =
    options.kind === 'pglite'
      ? await PgliteStore.open({ dataDir: options.dataDir })
      : await PostgresStore.connect({ url: options.url, schema: options.schema });
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
