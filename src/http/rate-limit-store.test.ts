import { describe, expect, it } from 'vitest';
import { MemoryCounter, RateLimitStore, rateLimitStoreClass } from './rate-limit-store.js';

describe('MemoryCounter', () => {
  it('counts within a window and starts again when it ends', () => {
    const counter = new MemoryCounter();
    expect(counter.increment('k', 60_000, 1_000)).toEqual({ current: 1, ttl: 60_000 });
    expect(counter.increment('k', 60_000, 31_000)).toEqual({ current: 2, ttl: 30_000 });
    expect(counter.increment('k', 60_000, 61_000)).toEqual({ current: 1, ttl: 60_000 });
  });

  it('stays bounded under a flood of distinct keys, dropping the oldest window first', () => {
    const counter = new MemoryCounter();
    for (let i = 0; i < 10_000; i++) counter.increment(`ip:${i}`, 60_000, 0);
    counter.increment('ip:new', 60_000, 1);
    // The first key's window was dropped to make room: it starts again at 1.
    expect(counter.increment('ip:0', 60_000, 2).current).toBe(1);
    expect(counter.increment('ip:new', 60_000, 3).current).toBe(2);
  });
});

describe('RateLimitStore without Redis', () => {
  it('keeps each route apart', async () => {
    const root = new RateLimitStore(undefined, '');
    const tools = root.child({ routeInfo: { method: 'POST', url: '/a' } });
    const other = root.child({ routeInfo: { method: 'POST', url: '/b' } });
    const count = (store: RateLimitStore) =>
      new Promise<number>((resolve) =>
        store.incr('user:1', (_err, result) => resolve(result?.current ?? -1)),
      );
    expect(await count(tools)).toBe(1);
    expect(await count(tools)).toBe(2);
    expect(await count(other)).toBe(1);
  });

  it('routes of one budget share a counter, and a store made outside the plugin counts in it too', async () => {
    const Store = rateLimitStoreClass(undefined);
    const plugin = new Store();
    const rest = plugin.child({ budget: 'toolCalls', routeInfo: { method: 'POST', url: '/a' } });
    const other = plugin.child({ budget: 'toolCalls', routeInfo: { method: 'POST', url: '/b' } });
    const outside = new Store().child({ budget: 'toolCalls' });
    expect((await rest.count('user:1', 60_000)).current).toBe(1);
    expect((await other.count('user:1', 60_000)).current).toBe(2);
    // A batch of three calls counts three.
    expect((await outside.count('user:1', 60_000, 3)).current).toBe(5);
    expect((await rest.count('user:2', 60_000)).current).toBe(1);
  });
});
