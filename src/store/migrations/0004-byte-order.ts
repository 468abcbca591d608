import { PostgresAdapter, sql, type Kysely } from 'kysely';

/**
 * Orderings that do not depend on the database's collation. Server names (by `name_key`) and
 * emails are paged with keyset cursors (`> last`) and merged with lists sorted in JavaScript, which
 * compares UTF-16 code units; SQLite compares bytes (BINARY). A PostgreSQL database created with a
 * linguistic collation (en-US sorts `a_b`, `a-b`, `a1`, `ab`; bytes give `a-b`, `a1`, `a_b`, `ab`)
 * disagreed with both, so pages skipped or repeated names. The "C" collation compares bytes, which
 * for these ASCII names and for UTF-8 text generally is the code point order everyone else uses.
 * Equality and uniqueness are unchanged (every collation here is deterministic).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return; // SQLite already compares bytes
  await sql`alter table servers alter column name_key type text collate "C"`.execute(db);
  await sql`alter table users alter column email type text collate "C"`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await sql`alter table servers alter column name_key type text collate "default"`.execute(db);
  await sql`alter table users alter column email type text collate "default"`.execute(db);
}
