import postgres from 'postgres';
import { createLogger, type Logger } from '../logger';
import { StoreClosedError } from './errors';
import { SqlStore } from './sql-store';
import { quoteIdent, type SqlDatabase, type SqlSession, type SqlValue } from './sql';

export interface PostgresStoreOptions {
  /** postgres:// URL. */
  url: string;
  /**
   * Schema holding the tables; created if missing and made the connection's only search_path entry,
   * so tests can isolate in a fresh schema and drop it after. Default: the server's search_path (public).
   */
  schema?: string;
  /** Pool size. Default 10. */
  max?: number;
  /** Seconds to wait for a connection before failing. Default 10. */
  connectTimeoutS?: number;
}

export const DEFAULT_POSTGRES_POOL_SIZE = 10;
export const DEFAULT_POSTGRES_CONNECT_TIMEOUT_S = 10;

/** A lock key distinct from the migrator's: creating one schema from several processes at once. */
const SCHEMA_LOCK_KEY = 0x43_54_73_63; // 'CTsc'

interface Lifecycle {
  closed: boolean;
}

type Param = postgres.ParameterOrJSON<never>;

class PostgresSession implements SqlSession {
  constructor(
    private readonly sql: postgres.Sql | postgres.TransactionSql,
    protected readonly lifecycle: Lifecycle,
  ) {}

  async query<T extends object>(text: string, params: readonly SqlValue[] = []): Promise<T[]> {
    if (this.lifecycle.closed) throw new StoreClosedError('postgres');
    const rows = await this.sql.unsafe(text, params as Param[]);
    return rows as unknown as T[];
  }

  async exec(script: string): Promise<void> {
    if (this.lifecycle.closed) throw new StoreClosedError('postgres');
    // The simple protocol allows several statements in one call.
    await this.sql.unsafe(script).simple();
  }
}

class PostgresDatabase extends PostgresSession implements SqlDatabase {
  constructor(
    private readonly root: postgres.Sql,
    lifecycle: Lifecycle,
  ) {
    super(root, lifecycle);
  }

  async transaction<T>(fn: (tx: SqlSession) => Promise<T>): Promise<T> {
    if (this.lifecycle.closed) throw new StoreClosedError('postgres');
    const result = await this.root.begin((tx) => fn(new PostgresSession(tx, this.lifecycle)));
    return result as T;
  }
}

/** Distributed Store: PostgreSQL through the `postgres` driver's pool. */
export class PostgresStore extends SqlStore {
  readonly kind = 'postgres' as const;

  private constructor(
    private readonly sql: postgres.Sql,
    private readonly lifecycle: Lifecycle,
    /** The schema the tables live in, or undefined for the server's default search_path. */
    readonly schema: string | undefined,
    log: Logger,
  ) {
    super(new PostgresDatabase(sql, lifecycle), log);
  }

  /**
   * Connects, checks the server answers (so a wrong URL fails here, not at the first query) and
   * creates the schema when one is given. Does not migrate (openStore does).
   */
  static async connect(options: PostgresStoreOptions): Promise<PostgresStore> {
    const { url, schema } = options;
    const quoted = schema === undefined ? undefined : quoteIdent(schema);
    const log = createLogger('store', { kind: 'postgres', schema: schema ?? 'default' });
    const sql = postgres(url, {
      max: options.max ?? DEFAULT_POSTGRES_POOL_SIZE,
      connect_timeout: options.connectTimeoutS ?? DEFAULT_POSTGRES_CONNECT_TIMEOUT_S,
      onnotice: (notice) => log.debug({ notice: notice.message }, 'postgres notice'),
      ...(schema === undefined ? {} : { connection: { search_path: schema } }),
    });
    const store = new PostgresStore(sql, { closed: false }, schema, log);
    try {
      if (quoted !== undefined) {
        // CREATE SCHEMA IF NOT EXISTS still races with itself (unique violation): serialise it.
        await store.db.transaction(async (tx) => {
          await tx.query(`SELECT pg_advisory_xact_lock($1::int, hashtext($2))`, [SCHEMA_LOCK_KEY, schema ?? '']);
          await tx.exec(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
        });
      } else {
        await store.db.query('SELECT 1');
      }
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  protected async closeConnection(): Promise<void> {
    this.lifecycle.closed = true;
    await this.sql.end({ timeout: 5 });
  }
}
