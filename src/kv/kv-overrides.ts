import type { Kv } from './types.js';

/**
 * A KV that does what `inner` does, except for the operations `overrides` replaces: how a test
 * makes one operation fail or records it. (Spreading a store would lose its methods, which live on
 * its class.)
 */
export function withOverrides(inner: Kv, overrides: Partial<Kv>): Kv {
  return {
    get: (key) => inner.get(key),
    set: (key, value, opts) => inner.set(key, value, opts),
    setIfAbsent: (key, value, opts) => inner.setIfAbsent(key, value, opts),
    getAndDelete: (key) => inner.getAndDelete(key),
    delete: (key) => inner.delete(key),
    publish: (channel, message) => inner.publish(channel, message),
    subscribe: (channel, handler) => inner.subscribe(channel, handler),
    onDeliveryGap: (listener) => inner.onDeliveryGap(listener),
    acquireLock: (name, ttlMs) => inner.acquireLock(name, ttlMs),
    withLock: (name, opts, fn) => inner.withLock(name, opts, fn),
    ping: () => inner.ping(),
    close: () => inner.close(),
    ...overrides,
  };
}
