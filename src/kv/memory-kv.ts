import { systemRandom, type Clock, type Random } from '../core/index.js';
import { HubError } from '../errors/index.js';
import { checkTtlMs, deliverSafely, ignoreKvError, type KvErrorReporter } from './errors.js';
import { lockKey, lockReleasedChannel, newLockToken, runWithLock } from './locking.js';
import type { Kv, KvLock, KvMessageHandler, KvSetOptions } from './types.js';

/** Options for {@link createMemoryKv}. */
export interface MemoryKvOptions {
  /** Expiry is judged against this clock, so tests can move time by hand. */
  clock: Clock;
  /** Source of lock tokens. */
  random?: Random;
  /** How often expired keys nobody reads again are dropped; default 60 s. */
  sweepIntervalMs?: number;
  /** Re-try interval of `withLock` while waiting on a lock that may expire silently; default 50 ms. */
  lockPollMs?: number;
  /** Receives subscriber handler errors and lock clean-up failures. */
  onError?: KvErrorReporter;
}

interface Entry {
  value: string;
  /** Epoch ms on the injected clock; undefined = no expiry. */
  expiresAt: number | undefined;
}

interface Subscription {
  handler: KvMessageHandler;
  active: boolean;
}

/**
 * The in-process store for a single instance. Each operation runs to completion synchronously
 * inside its promise, which is what makes setIfAbsent, getAndDelete and lock release atomic here.
 */
export function createMemoryKv(options: MemoryKvOptions): Kv {
  const { clock } = options;
  const random = options.random ?? systemRandom;
  const onError = options.onError ?? ignoreKvError;
  const entries = new Map<string, Entry>();
  const channels = new Map<string, Set<Subscription>>();
  // Deliveries not yet run; close() cancels them so no handler fires after close.
  const pendingDeliveries = new Set<NodeJS.Immediate>();
  let closed = false;
  const closing = new AbortController();
  const lockWait = { pollMs: options.lockPollMs ?? 50, onError, closed: closing.signal };

  // Lazy expiry alone would keep keys that are never read again; the sweep bounds memory.
  const sweepTimer = setInterval(() => {
    const now = clock.now();
    for (const [key, entry] of entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) entries.delete(key);
    }
  }, options.sweepIntervalMs ?? 60_000);
  sweepTimer.unref();

  /** Runs a synchronous body as one atomic step; a throw becomes a rejection. */
  const atomically = <T>(body: () => T): Promise<T> =>
    new Promise<T>((resolve) => {
      if (closed) throw new HubError('HUB_ERR_NOT_READY', { message: 'KV store is closed' });
      resolve(body());
    });

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= clock.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };

  const expiryFor = (opts: KvSetOptions | undefined): number | undefined =>
    opts?.ttlMs === undefined ? undefined : clock.now() + checkTtlMs(opts.ttlMs);

  const setIfAbsentNow = (key: string, value: string, opts: KvSetOptions | undefined): boolean => {
    const expiresAt = expiryFor(opts);
    if (live(key)) return false;
    entries.set(key, { value, expiresAt });
    return true;
  };

  const publishNow = (channel: string, message: string): void => {
    const subscribers = channels.get(channel);
    if (!subscribers || subscribers.size === 0) return;
    // Like Redis: those subscribed at publish time receive it, later, never inside publish().
    const recipients = [...subscribers];
    const delivery = setImmediate(() => {
      pendingDeliveries.delete(delivery);
      for (const subscription of recipients) {
        if (subscription.active) deliverSafely(subscription.handler, message, onError);
      }
    });
    pendingDeliveries.add(delivery);
  };

  const heldLock = (name: string, token: string): KvLock => {
    const key = lockKey(name);
    return {
      name,
      release: () =>
        atomically(() => {
          if (live(key)?.value !== token) return false;
          entries.delete(key);
          publishNow(lockReleasedChannel(name), '');
          return true;
        }),
      extend: (ttlMs) =>
        atomically(() => {
          const entry = live(key);
          if (entry?.value !== token) return false;
          entry.expiresAt = clock.now() + checkTtlMs(ttlMs);
          return true;
        }),
    };
  };

  const kv: Kv = {
    get: (key) => atomically(() => live(key)?.value ?? null),

    // Delivery happens in this process: nothing published can go missing.
    onDeliveryGap: () => () => undefined,

    set: (key, value, opts) =>
      atomically(() => {
        entries.set(key, { value, expiresAt: expiryFor(opts) });
      }),

    setIfAbsent: (key, value, opts) => atomically(() => setIfAbsentNow(key, value, opts)),

    getAndDelete: (key) =>
      atomically(() => {
        const entry = live(key);
        if (!entry) return null;
        entries.delete(key);
        return entry.value;
      }),

    delete: (key) =>
      atomically(() => {
        const existed = live(key) !== undefined;
        entries.delete(key);
        return existed;
      }),

    publish: (channel, message) => atomically(() => publishNow(channel, message)),

    subscribe: (channel, handler) =>
      atomically(() => {
        const subscription: Subscription = { handler, active: true };
        let subscribers = channels.get(channel);
        if (!subscribers) {
          subscribers = new Set();
          channels.set(channel, subscribers);
        }
        subscribers.add(subscription);
        const owners = subscribers;
        return () => {
          subscription.active = false;
          owners.delete(subscription);
          if (owners.size === 0 && channels.get(channel) === owners) channels.delete(channel);
          return Promise.resolve();
        };
      }),

    acquireLock: (name, ttlMs) =>
      atomically(() => {
        const token = newLockToken(random);
        return setIfAbsentNow(lockKey(name), token, { ttlMs }) ? heldLock(name, token) : null;
      }),

    withLock: (name, opts, fn) => runWithLock(kv, lockWait, name, opts, fn),

    ping: () => atomically(() => undefined),

    close: () => {
      if (!closed) {
        closed = true;
        closing.abort();
        clearInterval(sweepTimer);
        for (const delivery of pendingDeliveries) clearImmediate(delivery);
        pendingDeliveries.clear();
        for (const subscribers of channels.values()) {
          for (const subscription of subscribers) subscription.active = false;
        }
        channels.clear();
        entries.clear();
      }
      return Promise.resolve();
    },
  };
  return kv;
}
