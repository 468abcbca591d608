import BetterSqlite3 from 'better-sqlite3';
import { type Generated, Kysely, SqliteDialect, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { StatementCache } from './statement-cache.js';

/** A real in-memory SQLite whose prepare calls are counted by SQL text. */
function countingDb() {
  const db = new BetterSqlite3(':memory:');
  const prepared: string[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = (text: string) => {
    prepared.push(text);
    return prepare(text);
  };
  db.exec('create table t (id integer primary key, name text)');
  return { db, prepared };
}

describe('StatementCache', () => {
  let open: BetterSqlite3.Database | undefined;
  afterEach(() => open?.close());

  it('prepares each SQL text once across Kysely queries, and the answers stay right', async () => {
    const { db, prepared } = countingDb();
    open = db;
    const kysely = new Kysely<{ t: { id: Generated<number>; name: string } }>({
      dialect: new SqliteDialect({ database: new StatementCache(db) }),
    });
    for (const name of ['a', 'b', 'c']) await kysely.insertInto('t').values({ name }).execute();
    const names: string[] = [];
    for (const id of [1, 2, 3]) {
      const row = await kysely.selectFrom('t').select('name').where('id', '=', id).executeTakeFirst();
      names.push(row!.name);
    }
    expect(names).toEqual(['a', 'b', 'c']);
    expect(prepared.filter((text) => text.startsWith('insert'))).toHaveLength(1);
    expect(prepared.filter((text) => text.startsWith('select'))).toHaveLength(1);
    // A schema change after preparing: SQLite re-prepares underneath, the cached statement still works.
    await sql`alter table t add column extra text`.execute(kysely);
    const again = await kysely.selectFrom('t').select('name').where('id', '=', 2).executeTakeFirst();
    expect(again?.name).toBe('b');
  });

  it('keeps at most its capacity, dropping the least recently used', () => {
    const { db, prepared } = countingDb();
    open = db;
    const cache = new StatementCache(db, 2);
    cache.prepare('select 1');
    cache.prepare('select 2');
    cache.prepare('select 1'); // now most recent
    cache.prepare('select 3'); // evicts "select 2"
    expect(cache.size).toBe(2);
    cache.prepare('select 1');
    cache.prepare('select 2');
    expect(prepared).toEqual(['select 1', 'select 2', 'select 3', 'select 2']);
  });

  it('prepares a fresh statement while the cached one is held by an iteration', () => {
    const { db } = countingDb();
    open = db;
    db.exec("insert into t (name) values ('x'), ('y')");
    const cache = new StatementCache(db);
    const text = 'select name from t order by id';
    const iteration = cache.prepare(text).iterate([]);
    expect(iteration.next().value).toEqual({ name: 'x' });
    expect(cache.prepare(text).all([])).toEqual([{ name: 'x' }, { name: 'y' }]);
    expect(iteration.next().value).toEqual({ name: 'y' });
    iteration.return?.();
  });
});
