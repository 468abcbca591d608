/**
 * Recognises constraint violations on both dialects, so repositories can turn them into
 * HubErrors without a racy "look first, then insert". better-sqlite3 sets an extended result
 * code string on its errors; pg sets the SQLSTATE.
 */

const PG_UNIQUE_VIOLATION = '23505';
const PG_FOREIGN_KEY_VIOLATION = '23503';

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}

/** True when `error` says a unique index or primary key refused a duplicate. */
export function isUniqueViolation(error: unknown): boolean {
  const code = errorCode(error);
  return (
    code === PG_UNIQUE_VIOLATION ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/** True when `error` says a foreign key pointed at a row that does not exist. */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = errorCode(error);
  return code === PG_FOREIGN_KEY_VIOLATION || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
