import { systemClock, type Clock } from '../core/index.js';

/** What changed: one user's credential for one server, everything of a user, or of a server. */
export interface CredentialChange {
  /** Null: every user's. */
  userId: string | null;
  /** Null: for every server. */
  serverName: string | null;
}

/** Bounds of a {@link CredentialCache}. */
export interface CredentialCacheLimits {
  /** Most entries kept; the least recently used goes first. */
  maxEntries: number;
  /**
   * Longest an entry is used before the store is read again. Every change is announced to every
   * instance, so this only bounds a lost announcement (a KV outage between publish and delivery).
   */
  ttlMs: number;
}

interface Entry<T> {
  value: T;
  userId: string;
  serverName: string;
  expiresAt: number;
}

/**
 * Decrypted credentials of one kind (OAuth token sets, user variables) by user and server, so a
 * warm call reads neither the database nor the cipher. Bounded (LRU and TTL). It keeps nothing
 * while it is not enabled, i.e. until the instance hears every other instance's changes, and a
 * load that overlapped any invalidation is returned but not kept: a value read before a change
 * landed never outlives the announcement of that change.
 */
export class CredentialCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  /** Bumped by every invalidation; a load that saw it change is not kept. */
  private generation = 0;
  private enabled = false;

  constructor(
    private readonly limits: CredentialCacheLimits,
    private readonly announce: (change: CredentialChange) => Promise<void>,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * The cached value, or what `load` reads (kept when nothing changed meanwhile). Absence (null) is
   * never kept: a credential stored on another instance (a sign-in called back there) must count on
   * this one at once, not once its announcement arrives.
   */
  async get(userId: string, serverName: string, load: () => Promise<T>): Promise<T> {
    const key = keyOf(userId, serverName);
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      if (hit.expiresAt > this.clock.now()) {
        this.entries.set(key, hit);
        return hit.value;
      }
    }
    const started = this.generation;
    const value = await load();
    if (value !== null && this.enabled && started === this.generation)
      this.keep(key, { value, userId, serverName });
    return value;
  }

  /**
   * After a write or delete of the user's credential for the server: forgets it here at once, then
   * tells every instance (which forget theirs when they hear it).
   */
  async changed(userId: string, serverName: string): Promise<void> {
    this.forget({ userId, serverName });
    await this.announce({ userId, serverName });
  }

  /** Drops what matches the change, here only. */
  forget(change: CredentialChange): void {
    this.generation += 1;
    if (change.userId === null && change.serverName === null) {
      this.entries.clear();
      return;
    }
    if (change.userId !== null && change.serverName !== null) {
      this.entries.delete(keyOf(change.userId, change.serverName));
      return;
    }
    for (const [key, entry] of this.entries) {
      if (change.userId === entry.userId || change.serverName === entry.serverName) this.entries.delete(key);
    }
  }

  /** Caching starts (changes are heard) or stops (they may not be: everything is dropped). */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    if (!enabled) this.forget({ userId: null, serverName: null });
  }

  /** Entries held now (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private keep(key: string, entry: Omit<Entry<T>, 'expiresAt'>): void {
    this.entries.set(key, { ...entry, expiresAt: this.clock.now() + this.limits.ttlMs });
    if (this.entries.size > this.limits.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }
}

function keyOf(userId: string, serverName: string): string {
  return `${userId}\u0000${serverName}`;
}
