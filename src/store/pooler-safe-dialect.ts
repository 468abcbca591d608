import { PostgresAdapter, PostgresDialect, type DialectAdapter } from 'kysely';

/**
 * Kysely's PostgreSQL adapter without its migration lock. That lock is a session-level advisory
 * lock taken and released in statements of their own, outside the migration's transaction: behind
 * PgBouncer in transaction pooling mode the two can land on different server connections, and the
 * lock then stays held on one of them for good (every later migration waits on it). Migrations run
 * in one transaction each (PostgreSQL's DDL is transactional) and record themselves in the
 * migration table's primary key, so of two instances migrating at once one commits and the other
 * fails and rolls back whole; `migrateToLatest` then reads the state again and finds nothing to do.
 */
class PoolerSafePostgresAdapter extends PostgresAdapter {
  override async acquireMigrationLock(): Promise<void> {}
  override async releaseMigrationLock(): Promise<void> {}
}

/** The PostgreSQL dialect with {@link PoolerSafePostgresAdapter}. */
export class PoolerSafePostgresDialect extends PostgresDialect {
  override createAdapter(): DialectAdapter {
    return new PoolerSafePostgresAdapter();
  }
}
