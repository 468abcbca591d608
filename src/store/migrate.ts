import { type Kysely, type Migration, Migrator, PostgresAdapter, sql } from 'kysely';
import { HubError } from '../errors/index.js';
import * as initial from './migrations/0001-initial.js';
import * as accounts from './migrations/0002-accounts.js';
import * as signIn from './migrations/0003-sign-in.js';
import type { Database } from './tables.js';

/**
 * Every migration, in code so the build ships them without a migrations folder to locate at
 * run time. Names sort in the order they run; never rename or reorder one that has shipped.
 */
const migrations: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_accounts': accounts,
  '0003_sign_in': signIn,
};

/**
 * Brings the schema up to date and returns the names of the migrations it applied (none when
 * already current). Safe to call on every start and from several processes at once: Kysely holds
 * a lock while it migrates. Throws `HUB_ERR_INTERNAL` when a migration fails.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
    ...(await migrationTableSchema(db)),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName;
    throw new HubError('HUB_ERR_INTERNAL', {
      message: failed === undefined ? 'Database migration failed' : `Database migration ${failed} failed`,
      cause: error,
    });
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
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
