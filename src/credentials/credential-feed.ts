import type { Clock } from '../core/index.js';
import type { Kv } from '../kv/index.js';
import type { Logger } from '../observability/index.js';
import { CredentialCache, type CredentialCacheLimits, type CredentialChange } from './credential-cache.js';

/** The KV channel on which every instance announces a changed or deleted credential. */
export const CREDENTIAL_CHANGES_CHANNEL = 'credentials:changed';

/** Defaults: 10,000 (user, server) pairs per kind; a lost announcement matters for a minute at most. */
export const DEFAULT_CREDENTIAL_CACHE_LIMITS: CredentialCacheLimits = { maxEntries: 10_000, ttlMs: 60_000 };

function parseChange(message: string): CredentialChange | null {
  try {
    const value = JSON.parse(message) as { u?: unknown; s?: unknown }; // checked field by field
    const userId = value.u ?? null;
    const serverName = value.s ?? null;
    if (userId !== null && typeof userId !== 'string') return null;
    if (serverName !== null && typeof serverName !== 'string') return null;
    return { userId, serverName };
  } catch {
    return null;
  }
}

/**
 * The caches of decrypted credentials on this instance and the announcements that keep them true
 * across instances. Caches stay empty until {@link listen} has subscribed; a change made here is
 * forgotten here at once and published for the others.
 */
export class CredentialFeed {
  private readonly caches: CredentialCache<unknown>[] = [];
  private unsubscribe: (() => Promise<void>) | undefined;
  private stopGapWatch: (() => void) | undefined;

  constructor(
    private readonly kv: Pick<Kv, 'publish' | 'subscribe' | 'onDeliveryGap'>,
    private readonly logger: Logger,
    private readonly limits: CredentialCacheLimits = DEFAULT_CREDENTIAL_CACHE_LIMITS,
    private readonly clock?: Clock,
  ) {}

  /** A new cache whose changes this feed announces and whose peers' changes it applies. */
  cache<T>(): CredentialCache<T> {
    const cache = new CredentialCache<T>(this.limits, (change) => this.announce(change), this.clock);
    this.caches.push(cache);
    if (this.unsubscribe !== undefined) cache.setEnabled(true);
    return cache;
  }

  /** Forgets the change here, then tells every instance; a failed publish is logged (the TTL bounds it). */
  async announce(change: CredentialChange): Promise<void> {
    this.forget(change);
    try {
      await this.kv.publish(
        CREDENTIAL_CHANGES_CHANNEL,
        JSON.stringify({ u: change.userId, s: change.serverName }),
      );
    } catch (err) {
      this.logger.warn(
        { err },
        'could not announce a credential change; other instances notice it within the cache TTL',
      );
    }
  }

  /** Drops what matches on this instance only (a change heard from elsewhere, a removed user). */
  forget(change: CredentialChange): void {
    for (const cache of this.caches) cache.forget(change);
  }

  /**
   * Subscribes to the announcements, then lets the caches keep values. Rejects (and nothing is
   * ever cached) when the subscription cannot be made. While announcements cannot arrive (the
   * subscriber connection is down), nothing is kept either: what is cached is dropped when the gap
   * opens, and caching resumes once the subscription is back.
   */
  async listen(): Promise<void> {
    this.unsubscribe = await this.kv.subscribe(CREDENTIAL_CHANGES_CHANNEL, (message) => {
      // A message that does not parse could have named anything: everything is read again.
      this.forget(parseChange(message) ?? { userId: null, serverName: null });
    });
    this.stopGapWatch = this.kv.onDeliveryGap((gap) => {
      if (gap === 'lost') {
        this.logger.warn(
          'credential announcements cannot arrive: credentials are read on every use until they can',
        );
      }
      for (const cache of this.caches) cache.setEnabled(gap === 'resumed');
    });
    for (const cache of this.caches) cache.setEnabled(true);
  }

  /** Stops caching (everything is dropped) and hearing. */
  async stop(): Promise<void> {
    this.stopGapWatch?.();
    this.stopGapWatch = undefined;
    for (const cache of this.caches) cache.setEnabled(false);
    await this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
