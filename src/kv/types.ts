/** Options for writes that may expire. */
export interface KvSetOptions {
  /** Time to live in milliseconds; the key disappears after it. Omit for no expiry. */
  ttlMs?: number;
}

/**
 * A subscriber callback. It may be async: a rejected promise is caught like a thrown error, so a
 * faulty handler can never crash the process.
 */
export type KvMessageHandler = (message: string) => void | Promise<void>;

/** Stops one subscription. Idempotent: calling it again does nothing. */
export type KvUnsubscribe = () => Promise<void>;

/** Options for {@link Kv.withLock}. */
export interface KvWithLockOptions {
  /** How long the lock lives if the holder dies; must cover the work done under it. */
  ttlMs: number;
  /** How long to wait for a busy lock before giving up with `HUB_ERR_CONFLICT`. 0 = try once. */
  waitMs: number;
}

/** A held lock. Only the holder (the random token it was created with) can release or extend it. */
export interface KvLock {
  /** The lock's name, as passed to {@link Kv.acquireLock}. */
  readonly name: string;
  /** Frees the lock; false when it had already expired or was taken over by someone else. */
  release(): Promise<boolean>;
  /** Sets a new time to live from now; false when this holder no longer owns the lock. */
  extend(ttlMs: number): Promise<boolean>;
}

/** See {@link Kv.onDeliveryGap}. */
export type KvDeliveryGap = 'lost' | 'resumed';

/**
 * The hub's key-value store: flows, OAuth state, caches, cross-instance events and locks.
 * Two implementations share this contract (`kv.contract.test.ts`): in-process memory for a single
 * instance, Redis when several instances share state.
 *
 * Reserved names: keys starting with `lock:` and channels starting with `lock-released:` belong to
 * the lock implementation.
 */
export interface Kv {
  /** The value, or null when absent or expired. */
  get(key: string): Promise<string | null>;
  /** Writes the value, replacing any earlier value and its expiry. */
  set(key: string, value: string, opts?: KvSetOptions): Promise<void>;
  /** Atomic set-if-absent; true when this call created the key. */
  setIfAbsent(key: string, value: string, opts?: KvSetOptions): Promise<boolean>;
  /** Atomic get-and-delete: of many concurrent callers, at most one gets the value (single use). */
  getAndDelete(key: string): Promise<string | null>;
  /** True when the key existed (and was not expired) and is now gone. */
  delete(key: string): Promise<boolean>;
  /** Sends a message to every current subscriber of the channel, on any instance sharing the store. */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Delivers later publishes on the channel to `handler`, asynchronously and in publish order.
   * Resolves once the subscription is active; after the returned function resolves the handler is
   * never called again.
   */
  subscribe(channel: string, handler: KvMessageHandler): Promise<KvUnsubscribe>;
  /**
   * Calls `listener` when published messages may go missing: `'lost'` when the connection that
   * receives them drops, `'resumed'` once it is back and subscribed again. Whatever was published
   * in between never arrives, so state kept current by messages must be dropped at `'lost'`. A
   * store that cannot miss a message never calls it. Returns the function that stops the calls.
   */
  onDeliveryGap(listener: (gap: KvDeliveryGap) => void): () => void;
  /** A lock with expiry; null when someone else holds it. */
  acquireLock(name: string, ttlMs: number): Promise<KvLock | null>;
  /**
   * Waits up to `opts.waitMs` for the lock (woken by the holder's release, polling for expiry),
   * runs `fn`, and releases in `finally`. Throws `HUB_ERR_CONFLICT` ("Lock busy") on timeout.
   */
  withLock<T>(name: string, opts: KvWithLockOptions, fn: () => Promise<T>): Promise<T>;
  /** Resolves when the store answers; for readiness checks. */
  ping(): Promise<void>;
  /** Releases connections and timers. Idempotent; the store must not be used afterwards. */
  close(): Promise<void>;
}
