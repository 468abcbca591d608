import type { Kysely, Transaction } from 'kysely';
import type { Clock, Random } from '../core/index.js';
import type { Database } from './tables.js';

/** What every repository is built from (side effects are passed in). */
export interface RepositoryDeps {
  /** The database, or an open transaction to run every call of the repository inside it. */
  db: Kysely<Database>;
  /** Stamps created_at, updated_at and audit times. */
  clock: Clock;
  /** Source of new row ids; the OS CSPRNG when omitted. */
  random?: Random | undefined;
}

/**
 * Runs `work` in a transaction, or inside the caller's when `db` already is one: Kysely cannot
 * nest transactions, and repositories built on a transaction must still work.
 */
export function inTransaction<T>(
  db: Kysely<Database>,
  work: (trx: Kysely<Database>) => Promise<T>,
): Promise<T> {
  if (db.isTransaction) return work(db);
  return db.transaction().execute((trx: Transaction<Database>) => work(trx));
}
