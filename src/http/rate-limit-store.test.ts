import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  mustRunRedisSuites,
  startRedisCluster,
  type RedisClusterHandle,
} from '../../test/support/redis-cluster.js';
import { openRedisConnection, type RedisClient } from '../kv/index.js';
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

// Issue 17: the counters' connection comes from the KV's factory, so a Cluster counts too.
describe.runIf(mustRunRedisSuites)('RateLimitStore on a 3-node Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let connection: RedisClient;
  const fallbacks: unknown[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    connection = openRedisConnection(
      { kind: 'cluster', nodes: cluster.nodes, tls: false },
      { offlineQueue: false, commandTimeoutMs: 1_000, maxRetriesPerRequest: 0 },
    );
    connection.on('error', () => undefined);
    await new Promise((resolve) => connection.once('ready', resolve));
  }, 60_000);

  afterAll(async () => {
    connection?.disconnect();
    await cluster?.stop();
  });

  it('two stores (two instances) share counts in the cluster, under the namespace', async () => {
    const shared = {
      redis: connection,
      keyPrefix: 'team-a:rl:',
      onFallback: (e: unknown) => void fallbacks.push(e),
    };
    const one = new (rateLimitStoreClass(shared))().child({ budget: 'toolCalls' });
    const two = new (rateLimitStoreClass(shared))().child({ budget: 'toolCalls' });
    const counts: number[] = [];
    for (let user = 0; user < 20; user++) {
      await one.count(`user:${user}`, 60_000);
      counts.push((await two.count(`user:${user}`, 60_000, 2)).current);
    }
    expect(counts).toEqual(Array.from({ length: 20 }, () => 3));
    expect(fallbacks).toEqual([]);
    expect(await connection.get('team-a:rl:toolCalls:user:7')).toBe('3');
  });
});
