import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

/**
 * After a write to the database's files is seen, every look reads the version for this long. A
 * commit's last `write()` to the WAL comes just before its wal-index header is updated (shared
 * memory, which raises no file event): a read between the two still sees the old version, and
 * only a read after the header update sees the new one.
 */
export const SETTLE_MS = 1_000;

/**
 * SQLite's `PRAGMA data_version`, read only when it may have changed. The pragma takes the file's
 * locks (a handful of `fcntl` calls: 10–25 µs in a busy hub, on every authenticated request), yet
 * it changes only when another process commits, and a commit writes to the WAL file. So the
 * database's folder is watched (inotify on Linux), and the version is read again on every look
 * within {@link SETTLE_MS} of a write to any of the database's files (`<name>`, `-wal`, `-shm`,
 * `-journal`). The watch event of a commit is queued by the kernel while the writer commits,
 * before anything it does afterwards (a request it sends, a CLI command returning), and the event
 * loop handles ready events in that order. Where watching is not possible (or fails later), every
 * look reads the version, as before.
 */
export class SqliteWriteWatch {
  private version: number;
  /** `performance.now()` of the last write seen; -Infinity before any. */
  private lastWrite = Number.NEGATIVE_INFINITY;
  private watcher: FSWatcher | undefined;

  constructor(
    private readonly readVersion: () => number,
    databaseFile: string,
  ) {
    this.version = readVersion();
    const base = path.basename(databaseFile);
    try {
      this.watcher = watch(path.dirname(databaseFile), { persistent: false }, (_event, name) => {
        // No name (some platforms): any change may be one of ours.
        if (name === null || name.startsWith(base)) this.lastWrite = performance.now();
      });
      this.watcher.on('error', () => this.stopWatching());
    } catch {
      this.watcher = undefined;
    }
  }

  /** The database's current data version, as `PRAGMA data_version` gives it. */
  current(): number {
    if (this.watcher === undefined || performance.now() - this.lastWrite < SETTLE_MS)
      this.version = this.readVersion();
    return this.version;
  }

  /** True while the folder is watched (false: every look reads the version). */
  get watching(): boolean {
    return this.watcher !== undefined;
  }

  close(): void {
    this.stopWatching();
  }

  private stopWatching(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
