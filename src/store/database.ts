import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { HubError } from '../errors/index.js';
import { PoolerSafePostgresDialect } from './pooler-safe-dialect.js';
import { SqliteWriteWatch } from './sqlite-write-watch.js';
import { StatementCache } from './statement-cache.js';
import type { Database } from './tables.js';

/** Which SQL engine a {@link StoreDatabase} talks to. */
export type StoreDialect = 'sqlite' | 'postgres';

/** How to reach the database. */
export interface DatabaseOptions {
  /** A postgres:// or postgresql:// URL; when absent or empty, SQLite at `sqlitePath` is used. */
  databaseUrl?: string | undefined;
  /** The SQLite file (its directory is created when missing), or ':memory:'. */
  sqlitePath: string;
  /**
   * PostgreSQL only: a schema to keep every table in. It is created when missing and put first
   * on each pooled connection's search_path (tests use one per file to stay isolated).
   */
  pgSchema?: string | undefined;
  /** PostgreSQL only: the most pooled connections. Defaults to 10. */
  pgPoolMax?: number | undefined;
  /**
   * PostgreSQL only: the server cancels a statement running longer than this (`statement_timeout`),
   * ms. Defaults to {@link PG_STATEMENT_TIMEOUT_MS}; a `statement_timeout` in the URL wins.
   */
  pgStatementTimeoutMs?: number | undefined;
  /**
   * PostgreSQL only: the client gives up on an answer after this long (`query_timeout`), for a
   * server that is frozen or unreachable and so cancels nothing, ms. Defaults to {@link PG_QUERY_TIMEOUT_MS}.
   */
  pgQueryTimeoutMs?: number | undefined;
  /**
   * PostgreSQL only: the longest wait for a pooled connection, or for a new one to open, ms.
   * Defaults to {@link PG_ACQUIRE_TIMEOUT_MS}.
   */
  pgAcquireTimeoutMs?: number | undefined;
  /**
   * PostgreSQL only: told about errors on idle pooled connections (e.g. the server restarted).
   * pg's Pool emits these as 'error' events, which crash the process when nobody listens.
   */
  onPoolError?: ((error: Error) => void) | undefined;
}

/** An open database: the Kysely handle plus what the process needs to manage it. */
export interface StoreDatabase {
  /** The typed query builder; hand it to the repositories and to `migrateToLatest`. */
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  /** Closes every connection; the handle is unusable afterwards. */
  close(): Promise<void>;
  /** Resolves when the database answers a trivial query (readiness checks). */
  ping(): Promise<void>;
  /**
   * SQLite only: a number that changes whenever another connection (the CLI, in its own process)
   * has committed to the database file since it was last read; SQLite's `PRAGMA data_version`.
   * Writes made through this handle leave it unchanged.
   */
  readonly outsideWrites?: () => number;
}

/** SQLite waits this long for a competing writer (another process on the same file) before failing. */
const SQLITE_BUSY_TIMEOUT_MS = 5_000;
/** A request waits at most this long for a pooled connection (or a new one), instead of hanging. */
export const PG_ACQUIRE_TIMEOUT_MS = 5_000;
/** No statement of the hub runs this long; one that does is blocked (a lock) and is cancelled. */
export const PG_STATEMENT_TIMEOUT_MS = 10_000;
/** Past the statement timeout: only a server that cannot even cancel (frozen, unreachable) gets here. */
export const PG_QUERY_TIMEOUT_MS = 15_000;
const PG_INT8_OID = 20;
/** Unquoted PostgreSQL identifiers: lower case, so the name needs no quoting rules anywhere. */
const PG_SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** Opens SQLite or PostgreSQL, chosen by `databaseUrl`. Does not migrate. */
export async function createDatabase(options: DatabaseOptions): Promise<StoreDatabase> {
  const url = options.databaseUrl ?? '';
  if (url === '') return openSqlite(options.sqlitePath);
  if (/^postgres(ql)?:\/\//i.test(url)) return openPostgres(url, options);
  throw new HubError('HUB_ERR_CONFIG_INVALID', {
    message: 'The database URL must start with postgres:// or postgresql://',
  });
}

function openSqlite(sqlitePath: string): StoreDatabase {
  if (sqlitePath !== ':memory:') mkdirSync(path.dirname(path.resolve(sqlitePath)), { recursive: true });
  const connection = new BetterSqlite3(sqlitePath);
  // WAL lets readers run beside the one writer; SQLite leaves foreign keys off unless asked.
  connection.pragma('journal_mode = WAL');
  connection.pragma('foreign_keys = ON');
  connection.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: new StatementCache(connection) }),
  });
  const dataVersion = connection.prepare('PRAGMA data_version').pluck();
  const readVersion = () => dataVersion.get() as number;
  // An in-memory database has no file another process could write.
  if (sqlitePath === ':memory:') return { ...handle(db, 'sqlite'), outsideWrites: readVersion };
  const writes = new SqliteWriteWatch(readVersion, path.resolve(sqlitePath));
  const base = handle(db, 'sqlite');
  return {
    ...base,
    close: async () => {
      writes.close();
      await base.close();
    },
    outsideWrites: () => writes.current(),
  };
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<StoreDatabase> {
  const schema = options.pgSchema;
  if (schema !== undefined && !PG_SCHEMA_PATTERN.test(schema)) {
    throw new HubError('HUB_ERR_CONFIG_INVALID', {
      message: 'The PostgreSQL schema name is not a plain identifier',
    });
  }
  // int8 (our bigint timestamps, and COUNT) arrives as a string by default; millisecond
  // timestamps stay far below 2^53, so numbers are exact. Scoped to this pool, not pg's globals.
  const types = new pg.TypeOverrides();
  types.setTypeParser(PG_INT8_OID, (value: string) => Number(value));
  const pool = new pg.Pool({
    connectionString: url,
    types,
    max: options.pgPoolMax ?? 10,
    connectionTimeoutMillis: options.pgAcquireTimeoutMs ?? PG_ACQUIRE_TIMEOUT_MS,
    statement_timeout: options.pgStatementTimeoutMs ?? PG_STATEMENT_TIMEOUT_MS,
    query_timeout: options.pgQueryTimeoutMs ?? PG_QUERY_TIMEOUT_MS,
  });
  const onPoolError = options.onPoolError;
  // Without a listener an idle connection's error would crash the process; the pool drops that
  // connection itself and the next query opens a new one.
  pool.on('error', (error) => onPoolError?.(error));
  const dialect = new PoolerSafePostgresDialect({
    pool,
    ...(schema === undefined
      ? {}
      : {
          onCreateConnection: async (connection) => {
            await connection.executeQuery(CompiledQuery.raw(`set search_path to ${schema}`));
          },
        }),
  });
  const db = new Kysely<Database>({ dialect });
  if (schema !== undefined) {
    try {
      await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
    } catch (error) {
      await db.destroy();
      throw error;
    }
  }
  return handle(db, 'postgres');
}

function handle(db: Kysely<Database>, dialect: StoreDialect): StoreDatabase {
  return {
    db,
    dialect,
    close: () => db.destroy(),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
  };
}

/** PostgreSQL SQLSTATEs that say the database, not the query, failed (PostgreSQL manual, appendix A). */
const PG_UNAVAILABLE_STATES = new Set([
  '57014', // query_canceled: statement_timeout
  '57P01', // admin_shutdown (also pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '55P03', // lock_not_available: lock_timeout
]);
/** What node-postgres and Node say when the server cannot be reached or does not answer in time. */
const PG_UNAVAILABLE_MESSAGES = [
  'Query read timeout',
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Client has encountered a connection error',
];
const NET_UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH']);
/** SQLite: another process held the file past the busy timeout. */
const SQLITE_UNAVAILABLE_CODES = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED']);

/**
 * Whether an error thrown by a query means the database was unavailable (down, frozen, unreachable,
 * or a statement blocked past its timeout) rather than a fault of the query: such requests answer
 * 503 HUB_ERR_DB_UNAVAILABLE, which a client may retry, instead of a 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (PG_UNAVAILABLE_STATES.has(code) || code.startsWith('08')) return true;
    if (NET_UNAVAILABLE_CODES.has(code) || SQLITE_UNAVAILABLE_CODES.has(code)) return true;
  }
  return PG_UNAVAILABLE_MESSAGES.some((message) => error.message.startsWith(message));
}
