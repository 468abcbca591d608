import { watch } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteWriteWatch } from './sqlite-write-watch.js';

describe('SqliteWriteWatch', () => {
  let folder: string;
  let file: string;
  let hub: BetterSqlite3.Database;
  let other: BetterSqlite3.Database;
  let reads: number;
  let watchUnderTest: SqliteWriteWatch;

  /** Resolves once the folder's watchers (one inotify descriptor per event loop) heard a change of `file`. */
  const nextChange = (): Promise<void> =>
    new Promise((resolve) => {
      const watcher = watch(folder, (_event, name) => {
        if (name?.startsWith(path.basename(file))) {
          watcher.close();
          setImmediate(resolve);
        }
      });
    });

  beforeEach(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'sqlite-watch-'));
    file = path.join(folder, 'hub.sqlite');
    hub = new BetterSqlite3(file);
    hub.pragma('journal_mode = WAL');
    hub.exec('CREATE TABLE t (x INTEGER)');
    // Another connection stands for another process (the CLI): its commits change data_version.
    other = new BetterSqlite3(file);
    const version = hub.prepare('PRAGMA data_version').pluck();
    reads = 0;
    watchUnderTest = new SqliteWriteWatch(() => {
      reads += 1;
      return version.get() as number;
    }, file);
  });

  afterEach(async () => {
    watchUnderTest.close();
    other.close();
    hub.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('reads the version once while nothing writes', () => {
    expect(watchUnderTest.watching).toBe(true);
    const first = watchUnderTest.current();
    for (let i = 0; i < 100; i++) expect(watchUnderTest.current()).toBe(first);
    expect(reads).toBe(1);
  });

  it("sees another connection's commit at the first look after its file event", async () => {
    const before = watchUnderTest.current();
    const heard = nextChange();
    other.prepare('INSERT INTO t VALUES (1)').run();
    await heard;
    expect(watchUnderTest.current()).not.toBe(before);
  });

  it('reads again on every look within the settling time after a write', async () => {
    watchUnderTest.current();
    const heard = nextChange();
    other.prepare('INSERT INTO t VALUES (2)').run();
    await heard;
    const after = reads;
    watchUnderTest.current();
    watchUnderTest.current();
    expect(reads - after).toBe(2);
  });

  it('reads on every look when the folder cannot be watched', () => {
    const unwatched = new SqliteWriteWatch(
      () => {
        reads += 1;
        return 7;
      },
      path.join(folder, 'missing', 'db.sqlite'),
    );
    const before = reads;
    expect(unwatched.watching).toBe(false);
    expect(unwatched.current()).toBe(7);
    expect(unwatched.current()).toBe(7);
    expect(reads - before).toBe(2);
  });
});
