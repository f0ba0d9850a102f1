import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { createLogger } from '../logger';
import { StoreClosedError } from './errors';
import { SqlStore } from './sql-store';
import type { SqlDatabase, SqlSession, SqlValue } from './sql';

export interface PgliteStoreOptions {
  /** Folder holding the database; created if missing. Default: undefined = in memory, gone on close. One process per folder. */
  dataDir?: string;
}

/** Open/closed state shared by the database and its transaction sessions. */
interface Lifecycle {
  closed: boolean;
}

class PgliteSession implements SqlSession {
  constructor(
    private readonly pg: PGlite | Transaction,
    protected readonly lifecycle: Lifecycle,
  ) {}

  async query<T extends object>(text: string, params: readonly SqlValue[] = []): Promise<T[]> {
    if (this.lifecycle.closed) throw new StoreClosedError('pglite');
    const result = await this.pg.query<T>(text, [...params]);
    return result.rows;
  }

  async exec(script: string): Promise<void> {
    if (this.lifecycle.closed) throw new StoreClosedError('pglite');
    await this.pg.exec(script);
  }
}

class PgliteDatabase extends PgliteSession implements SqlDatabase {
  constructor(
    private readonly root: PGlite,
    lifecycle: Lifecycle,
  ) {
    super(root, lifecycle);
  }

  async transaction<T>(fn: (tx: SqlSession) => Promise<T>): Promise<T> {
    if (this.lifecycle.closed) throw new StoreClosedError('pglite');
    return this.root.transaction((tx) => fn(new PgliteSession(tx, this.lifecycle)));
  }
}

/** Embedded Store: PostgreSQL compiled to WASM, in this process. One connection, so statements queue. */
export class PgliteStore extends SqlStore {
  readonly kind = 'pglite' as const;

  private constructor(
    private readonly pg: PGlite,
    private readonly lifecycle: Lifecycle,
    /** The folder, or undefined when in memory. */
    readonly dataDir: string | undefined,
  ) {
    super(new PgliteDatabase(pg, lifecycle), createLogger('store', { kind: 'pglite', dataDir: dataDir ?? 'memory' }));
  }

  /** Opens (creating if needed) the database; does not migrate (openStore does). */
  static async open(options: PgliteStoreOptions = {}): Promise<PgliteStore> {
    const { dataDir } = options;
    if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
    const pg = await PGlite.create(dataDir);
    return new PgliteStore(pg, { closed: false }, dataDir);
  }

  protected async closeConnection(): Promise<void> {
    this.lifecycle.closed = true;
    await this.pg.close();
  }
}
