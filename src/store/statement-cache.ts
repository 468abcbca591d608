import type { Database as BetterSqliteDatabase, Statement } from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct SQL texts kept prepared; the hub issues a few dozen, so this bound is never reached in use. */
const DEFAULT_CAPACITY = 256;

/**
 * The SQLite connection as Kysely's SQLite driver sees it, with prepared statements kept by their
 * SQL text. Kysely prepares every query anew, and SQLite's parse and plan were the largest share of
 * a request's database time (each request reads its caller's account). A statement is synchronous
 * in better-sqlite3, so one statement serves every call except while an iteration holds it open;
 * then a fresh one is prepared. Schema changes need nothing here: SQLite re-prepares a statement
 * whose schema changed on its next step.
 */
export class StatementCache implements SqliteDatabase {
  readonly #db: BetterSqliteDatabase;
  readonly #capacity: number;
  /** Least recently used first (a Map keeps insertion order; a hit moves the entry to the end). */
  readonly #statements = new Map<string, Statement>();

  constructor(db: BetterSqliteDatabase, capacity = DEFAULT_CAPACITY) {
    this.#db = db;
    this.#capacity = capacity;
  }

  prepare(sql: string): SqliteStatement {
    const cached = this.#statements.get(sql);
    if (cached !== undefined) {
      if (cached.busy) return this.#db.prepare(sql);
      this.#statements.delete(sql);
      this.#statements.set(sql, cached);
      return cached;
    }
    const statement = this.#db.prepare(sql);
    this.#statements.set(sql, statement);
    if (this.#statements.size > this.#capacity) {
      const oldest = this.#statements.keys().next().value as string;
      this.#statements.delete(oldest);
    }
    return statement;
  }

  /** How many statements are kept (for tests). */
  get size(): number {
    return this.#statements.size;
  }

  close(): void {
    this.#statements.clear();
    this.#db.close();
  }
}
