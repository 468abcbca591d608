import { type Kysely, type Migration, Migrator, PostgresAdapter, sql } from 'kysely';
import { HubError } from '../errors/index.js';
import * as initial from './migrations/0001-initial.js';
import * as accounts from './migrations/0002-accounts.js';
import * as signIn from './migrations/0003-sign-in.js';
import * as byteOrder from './migrations/0004-byte-order.js';
import type { Database } from './tables.js';

/**
 * Every migration, in code so the build ships them without a migrations folder to locate at
 * run time. Names sort in the order they run; never rename or reorder one that has shipped.
 */
const migrations: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_accounts': accounts,
  '0003_sign_in': signIn,
  '0004_byte_order': byteOrder,
};

/** Attempts at migrating: another instance migrating at the same moment makes one fail (see below). */
const MIGRATION_ATTEMPTS = 3;

/**
 * Brings the schema up to date and returns the names of the migrations it applied (none when
 * already current). Safe to call on every start and from several processes at once. SQLite has one
 * writer. On PostgreSQL each migration runs in a transaction that also records it under the
 * migration table's primary key, so of two instances migrating at once one commits and the other
 * fails (a duplicate, or a deadlock PostgreSQL breaks) and rolls back whole: it then reads the state
 * again and goes on from there. No session lock is held, so this works behind PgBouncer in
 * transaction pooling mode too. Throws `HUB_ERR_INTERNAL` when a migration keeps failing.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const applied: string[] = [];
  for (let attempt = 1; ; attempt += 1) {
    const migrator = new Migrator({
      db,
      provider: { getMigrations: () => Promise.resolve(migrations) },
      ...(await migrationTableSchema(db)),
    });
    const { error, results = [] } = await migrator.migrateToLatest();
    applied.push(...results.filter((r) => r.status === 'Success').map((r) => r.migrationName));
    if (error === undefined) return applied;
    if (attempt >= MIGRATION_ATTEMPTS) {
      const failed = results.find((r) => r.status === 'Error')?.migrationName;
      throw new HubError('HUB_ERR_INTERNAL', {
        message: failed === undefined ? 'Database migration failed' : `Database migration ${failed} failed`,
        cause: error,
      });
    }
  }
}

/**
 * On PostgreSQL, pins Kysely's bookkeeping tables to the current schema. Unpinned, Kysely
 * decides they already exist when a table of that name is in *any* schema (another app's, or
 * another test's), then fails to find them on the search_path.
 */
async function migrationTableSchema(db: Kysely<Database>): Promise<{ migrationTableSchema?: string }> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return {};
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema;
  // Null when no schema on the search_path exists; Kysely's default then fails loudly on its own.
  return schema === undefined || schema === null ? {} : { migrationTableSchema: schema };
}
