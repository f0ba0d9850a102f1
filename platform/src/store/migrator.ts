import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger';
import { MigrationError } from './errors';
import type { SqlDatabase, SqlSession } from './sql';

/** One SQL file from the migrations folder. */
export interface Migration {
  /** The number prefix as written, e.g. '001'. Applied in numeric order. */
  version: string;
  /** The rest of the file name, e.g. 'init'. */
  name: string;
  sql: string;
  /** sha256 of the file, to notice a migration edited after it was applied. */
  checksum: string;
}

export interface AppliedMigration {
  version: string;
  name: string;
  checksum: string;
  appliedAt: number;
}

/** The folder of `NNN_name.sql` files shipped beside this module. */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Both arguments of `pg_advisory_xact_lock(int, int)`: a constant for "ChronoTrace migrations", then the schema. */
const MIGRATION_LOCK_KEY = 0x43_54_6d_67; // 'CTmg'

const FILE_PATTERN = /^(\d+)_([a-z0-9_]+)\.sql$/;

/** Reads `NNN_name.sql` files, sorted by version; rejects stray `.sql` names and duplicate versions. */
export async function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql'));
  const migrations: Migration[] = [];
  for (const file of files) {
    const m = FILE_PATTERN.exec(file);
    if (!m || m[1] === undefined || m[2] === undefined) {
      throw new MigrationError(`migration file "${file}" is not named NNN_name.sql (lower-case name)`);
    }
    const sql = await readFile(join(dir, file), 'utf8');
    migrations.push({ version: m[1], name: m[2], sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  migrations.sort((a, b) => Number(a.version) - Number(b.version));
  for (let i = 1; i < migrations.length; i++) {
    const prev = migrations[i - 1];
    const cur = migrations[i];
    if (prev && cur && Number(prev.version) === Number(cur.version)) {
      throw new MigrationError(`two migrations share version ${cur.version}: ${prev.name} and ${cur.name}`, cur.version);
    }
  }
  return migrations;
}

interface AppliedRow {
  version: string;
  name: string;
  checksum: string;
  applied_at: number | string;
}

/** Migrations recorded in `schema_migrations` of the current schema, oldest first; [] before the first migrate. */
export async function listAppliedMigrations(db: SqlSession): Promise<AppliedMigration[]> {
  const exists = await db.query<{ present: boolean }>(`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`);
  if (!exists[0]?.present) return [];
  const rows = await db.query<AppliedRow>(`SELECT version, name, checksum, applied_at FROM schema_migrations`);
  return rows
    .map((r) => ({ version: r.version, name: r.name, checksum: r.checksum, appliedAt: Number(r.applied_at) }))
    .sort((a, b) => Number(a.version) - Number(b.version));
}

/**
 * Applies the pending migrations in one transaction, under a transaction-scoped advisory lock keyed by
 * the current schema: several processes migrating the same database at once queue on the lock, and the
 * later ones find nothing left to do. Refuses to run when an applied migration's file has changed.
 * Returns the versions it applied.
 */
export async function runMigrations(db: SqlDatabase, migrations: readonly Migration[], log?: Logger): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock($1::int, hashtext(current_schema()))`, [MIGRATION_LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    text PRIMARY KEY,
      name       text   NOT NULL,
      checksum   text   NOT NULL,
      applied_at bigint NOT NULL
    )`);
    const applied = new Map((await listAppliedMigrations(tx)).map((m) => [Number(m.version), m]));
    const done: string[] = [];
    for (const migration of migrations) {
      const previous = applied.get(Number(migration.version));
      if (previous) {
        if (previous.checksum !== migration.checksum) {
          throw new MigrationError(
            `migration ${migration.version}_${migration.name} was edited after it was applied: add a new migration instead`,
            migration.version,
          );
        }
        continue;
      }
      try {
        await tx.exec(migration.sql);
      } catch (err) {
        throw new MigrationError(`migration ${migration.version}_${migration.name} failed: ${(err as Error).message}`, migration.version, { cause: err });
      }
      await tx.query(`INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)`, [
        migration.version,
        migration.name,
        migration.checksum,
        Date.now(),
      ]);
      log?.info({ version: migration.version, name: migration.name }, 'applied migration');
      done.push(migration.version);
    }
    return done;
  });
}
