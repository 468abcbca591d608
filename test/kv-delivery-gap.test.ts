import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialFeed } from '../src/credentials/index.js';
import { createRedisKv, type Kv, type KvDeliveryGap } from '../src/kv/index.js';
import { createLogger } from '../src/observability/index.js';
import { PrivateRedis } from './peers/private-redis.js';

/**
 * A subscriber connection that drops misses whatever is published until it is back. The KV says so
 * (`onDeliveryGap`), and the credential caches, kept true only by those announcements, drop what
 * they hold and read the store until the subscription is back. Runs on a Redis of its own: the
 * test kills pub/sub clients.
 */
describe('KV delivery gaps (Redis)', () => {
  let redis: PrivateRedis;
  let kv: Kv;
  let admin: Redis;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    kv = createRedisKv({ url: redis.url, keyPrefix: 'gap:' });
    admin = new Redis(redis.url);
  });

  afterAll(async () => {
    admin?.disconnect();
    await kv?.close();
    await redis?.stop();
  });

  it('a killed subscriber connection is reported lost, then resumed once subscribed again; credentials are read from the store meanwhile', async () => {
    const gaps: KvDeliveryGap[] = [];
    const stopWatching = kv.onDeliveryGap((gap) => gaps.push(gap));
    const feed = new CredentialFeed(kv, createLogger({ level: 'silent' }));
    const cache = feed.cache<string>();
    await feed.listen();
    let reads = 0;
    const load = async () => `token-${++reads}`;
    expect(await cache.get('alice', 'files', load)).toBe('token-1');
    expect(await cache.get('alice', 'files', load)).toBe('token-1');
    expect(cache.size).toBe(1);

    // The first 'ready' of the subscriber is no gap.
    expect(gaps).toEqual([]);
    expect(await admin.client('KILL', 'TYPE', 'pubsub')).toBeGreaterThan(0);
    await expect.poll(() => gaps[0]).toBe('lost');
    // What was cached before the gap is gone, and the gap's announcements could be missed.
    expect(cache.size).toBe(0);
    await expect.poll(() => gaps).toEqual(['lost', 'resumed']);

    // Back: the next read loads once and is kept again, and announcements arrive again.
    expect(await cache.get('alice', 'files', load)).toBe('token-2');
    expect(await cache.get('alice', 'files', load)).toBe('token-2');
    const other = createRedisKv({ url: redis.url, keyPrefix: 'gap:' });
    try {
      await new CredentialFeed(other, createLogger({ level: 'silent' })).announce({
        userId: 'alice',
        serverName: 'files',
      });
    } finally {
      await other.close();
    }
    await expect.poll(() => cache.size).toBe(0);
    await feed.stop();
    stopWatching();
  });
});
