import { systemRandom, type Clock, type Random } from '../core/index.js';
import { HubError } from '../errors/index.js';
import { checkTtlMs, deliverSafely, ignoreKvError, type KvErrorReporter } from './errors.js';
import { lockKey, lockReleasedChannel, newLockToken, runWithLock } from './locking.js';
import type {
  Kv,
  KvLock,
  KvMessageHandler,
  KvSetOptions,
  KvUnsubscribe,
  KvWithLockOptions,
} from './types.js';

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
  return new MemoryKv(options);
}

/** See {@link createMemoryKv}. */
class MemoryKv implements Kv {
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly onError: KvErrorReporter;
  private readonly entries = new Map<string, Entry>();
  private readonly channels = new Map<string, Set<Subscription>>();
  /** Deliveries not yet run; close() cancels them so no handler fires after close. */
  private readonly pendingDeliveries = new Set<NodeJS.Immediate>();
  private closed = false;
  private readonly closing = new AbortController();
  private readonly lockWait: { pollMs: number; onError: KvErrorReporter; closed: AbortSignal };
  /** Lazy expiry alone would keep keys that are never read again; the sweep bounds memory. */
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(options: MemoryKvOptions) {
    this.clock = options.clock;
    this.random = options.random ?? systemRandom;
    this.onError = options.onError ?? ignoreKvError;
    this.lockWait = { pollMs: options.lockPollMs ?? 50, onError: this.onError, closed: this.closing.signal };
    this.sweepTimer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 60_000);
    this.sweepTimer.unref();
  }

  get(key: string): Promise<string | null> {
    return this.atomically(() => this.live(key)?.value ?? null);
  }

  // Delivery happens in this process: nothing published can go missing.
  onDeliveryGap(): () => void {
    return () => undefined;
  }

  set(key: string, value: string, opts?: KvSetOptions): Promise<void> {
    return this.atomically(() => {
      this.entries.set(key, { value, expiresAt: this.expiryFor(opts) });
    });
  }

  setIfAbsent(key: string, value: string, opts?: KvSetOptions): Promise<boolean> {
    return this.atomically(() => this.setIfAbsentNow(key, value, opts));
  }

  getAndDelete(key: string): Promise<string | null> {
    return this.atomically(() => {
      const entry = this.live(key);
      if (!entry) return null;
      this.entries.delete(key);
      return entry.value;
    });
  }

  delete(key: string): Promise<boolean> {
    return this.atomically(() => {
      const existed = this.live(key) !== undefined;
      this.entries.delete(key);
      return existed;
    });
  }

  publish(channel: string, message: string): Promise<void> {
    return this.atomically(() => this.publishNow(channel, message));
  }

  subscribe(channel: string, handler: KvMessageHandler): Promise<KvUnsubscribe> {
    return this.atomically(() => {
      const subscription: Subscription = { handler, active: true };
      let subscribers = this.channels.get(channel);
      if (!subscribers) {
        subscribers = new Set();
        this.channels.set(channel, subscribers);
      }
      subscribers.add(subscription);
      const owners = subscribers;
      return () => {
        subscription.active = false;
        owners.delete(subscription);
        if (owners.size === 0 && this.channels.get(channel) === owners) this.channels.delete(channel);
        return Promise.resolve();
      };
    });
  }

  acquireLock(name: string, ttlMs: number): Promise<KvLock | null> {
    return this.atomically(() => {
      const token = newLockToken(this.random);
      return this.setIfAbsentNow(lockKey(name), token, { ttlMs }) ? this.heldLock(name, token) : null;
    });
  }

  withLock<T>(name: string, opts: KvWithLockOptions, fn: () => Promise<T>): Promise<T> {
    return runWithLock(this, this.lockWait, name, opts, fn);
  }

  ping(): Promise<void> {
    return this.atomically(() => undefined);
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.closing.abort();
      clearInterval(this.sweepTimer);
      for (const delivery of this.pendingDeliveries) clearImmediate(delivery);
      this.pendingDeliveries.clear();
      for (const subscribers of this.channels.values()) {
        for (const subscription of subscribers) subscription.active = false;
      }
      this.channels.clear();
      this.entries.clear();
    }
    return Promise.resolve();
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.entries.delete(key);
    }
  }

  /** Runs a synchronous body as one atomic step; a throw becomes a rejection. */
  private atomically<T>(body: () => T): Promise<T> {
    return new Promise<T>((resolve) => {
      if (this.closed) throw new HubError('HUB_ERR_NOT_READY', { message: 'KV store is closed' });
      resolve(body());
    });
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private expiryFor(opts: KvSetOptions | undefined): number | undefined {
    return opts?.ttlMs === undefined ? undefined : this.clock.now() + checkTtlMs(opts.ttlMs);
  }

  private setIfAbsentNow(key: string, value: string, opts: KvSetOptions | undefined): boolean {
    const expiresAt = this.expiryFor(opts);
    if (this.live(key)) return false;
    this.entries.set(key, { value, expiresAt });
    return true;
  }

  private publishNow(channel: string, message: string): void {
    const subscribers = this.channels.get(channel);
    if (!subscribers || subscribers.size === 0) return;
    // Like Redis: those subscribed at publish time receive it, later, never inside publish().
    const recipients = [...subscribers];
    const delivery = setImmediate(() => {
      this.pendingDeliveries.delete(delivery);
      for (const subscription of recipients) {
        if (subscription.active) deliverSafely(subscription.handler, message, this.onError);
      }
    });
    this.pendingDeliveries.add(delivery);
  }

  private heldLock(name: string, token: string): KvLock {
    const key = lockKey(name);
    return {
      name,
      release: () =>
        this.atomically(() => {
          if (this.live(key)?.value !== token) return false;
          this.entries.delete(key);
          this.publishNow(lockReleasedChannel(name), '');
          return true;
        }),
      extend: (ttlMs) =>
        this.atomically(() => {
          const entry = this.live(key);
          if (entry?.value !== token) return false;
          entry.expiresAt = this.clock.now() + checkTtlMs(ttlMs);
          return true;
        }),
    };
  }
}
