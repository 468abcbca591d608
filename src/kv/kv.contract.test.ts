import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  mustRunRedisSuites,
  startRedisCluster,
  type RedisClusterHandle,
} from '../../test/support/redis-cluster.js';
import { startRedisSentinel, type RedisSentinelHandle } from '../../test/support/redis-sentinel.js';
import type { Clock } from '../core/index.js';
import { isHubError } from '../errors/index.js';
import type { KvErrorSource } from './errors.js';
import { createKv, createMemoryKv, createRedisKv, type Kv, type RedisTopology } from './index.js';

interface ReportedError {
  error: unknown;
  source: KvErrorSource;
}

interface OpenOptions {
  lockPollMs?: number;
}

/** What the contract needs from a backend: fresh stores, and a way to let TTLs run out. */
interface Backend {
  open(opts: OpenOptions, errors: ReportedError[]): Kv;
  /** Lets `ms` pass as far as expiry is concerned: a fake clock in memory, real time on Redis. */
  elapse(ms: number): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function expectLockBusy(promise: Promise<unknown>): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isHubError(error, 'HUB_ERR_CONFLICT')).toBe(true);
  expect((error as Error).message).toBe('Lock busy');
}

function kvContract(backend: Backend): void {
  const opened: Kv[] = [];
  const open = (opts: OpenOptions = {}): { kv: Kv; errors: ReportedError[] } => {
    const errors: ReportedError[] = [];
    const kv = backend.open(opts, errors);
    opened.push(kv);
    return { kv, errors };
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((kv) => kv.close()));
  });

  describe('values', () => {
    it('gets, overwrites and deletes', async () => {
      const { kv } = open();
      expect(await kv.get('missing')).toBeNull();
      await kv.set('k', 'one');
      await kv.set('k', 'two');
      expect(await kv.get('k')).toBe('two');
      expect(await kv.delete('k')).toBe(true);
      expect(await kv.delete('k')).toBe(false);
      expect(await kv.get('k')).toBeNull();
    });

    it('expires a key after its TTL', async () => {
      const { kv } = open();
      await kv.set('short', 'v', { ttlMs: 150 });
      expect(await kv.get('short')).toBe('v');
      await backend.elapse(250);
      expect(await kv.get('short')).toBeNull();
      expect(await kv.delete('short')).toBe(false);
    });

    it('drops the old TTL when a key is set again without one', async () => {
      const { kv } = open();
      await kv.set('k', 'first', { ttlMs: 150 });
      await kv.set('k', 'second');
      await backend.elapse(250);
      expect(await kv.get('k')).toBe('second');
    });

    it('rejects a TTL that is not a positive number', async () => {
      const { kv } = open();
      await expect(kv.set('k', 'v', { ttlMs: 0 })).rejects.toMatchObject({ code: 'HUB_ERR_INTERNAL' });
      await expect(kv.setIfAbsent('k', 'v', { ttlMs: -5 })).rejects.toMatchObject({
        code: 'HUB_ERR_INTERNAL',
      });
      await expect(kv.acquireLock('l', Number.NaN)).rejects.toMatchObject({ code: 'HUB_ERR_INTERNAL' });
      expect(await kv.get('k')).toBeNull();
    });
  });

  describe('setIfAbsent', () => {
    it('creates once and keeps the first value', async () => {
      const { kv } = open();
      expect(await kv.setIfAbsent('flow', 'first')).toBe(true);
      expect(await kv.setIfAbsent('flow', 'second')).toBe(false);
      expect(await kv.get('flow')).toBe('first');
    });

    it('can create again once the key expired', async () => {
      const { kv } = open();
      expect(await kv.setIfAbsent('flow', 'first', { ttlMs: 150 })).toBe(true);
      await backend.elapse(250);
      expect(await kv.setIfAbsent('flow', 'second', { ttlMs: 150 })).toBe(true);
      expect(await kv.get('flow')).toBe('second');
    });

    it('lets exactly one of 50 concurrent callers win', async () => {
      const { kv } = open();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => kv.setIfAbsent('race', `caller-${i}`, { ttlMs: 10_000 })),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await kv.get('race')).toBe(`caller-${results.indexOf(true)}`);
    });
  });

  describe('getAndDelete', () => {
    it('hands the value out once', async () => {
      const { kv } = open();
      await kv.set('state', 'flow-1');
      expect(await kv.getAndDelete('state')).toBe('flow-1');
      expect(await kv.getAndDelete('state')).toBeNull();
      expect(await kv.get('state')).toBeNull();
    });

    it('hands out nothing once the key expired', async () => {
      const { kv } = open();
      await kv.set('state', 'flow-1', { ttlMs: 150 });
      await backend.elapse(250);
      expect(await kv.getAndDelete('state')).toBeNull();
    });

    it('gives the value to exactly one of 50 concurrent callers', async () => {
      const { kv } = open();
      await kv.set('code', 'single-use');
      const results = await Promise.all(Array.from({ length: 50 }, () => kv.getAndDelete('code')));
      expect(results.filter((r) => r !== null)).toEqual(['single-use']);
    });
  });

  describe('publish / subscribe', () => {
    it('delivers messages in publish order, only on their channel', async () => {
      const { kv } = open();
      const onA: string[] = [];
      const onB: string[] = [];
      await kv.subscribe('a', (m) => void onA.push(m));
      await kv.subscribe('b', (m) => void onB.push(m));
      for (const m of ['1', '2', '3']) await kv.publish('a', m);
      await kv.publish('b', 'only-b');
      await vi.waitFor(() => expect(onB).toEqual(['only-b']));
      await vi.waitFor(() => expect(onA).toEqual(['1', '2', '3']));
    });

    it('stops delivering to an unsubscribed handler, leaving others on the channel', async () => {
      const { kv } = open();
      const gone: string[] = [];
      const stays: string[] = [];
      const unsubscribe = await kv.subscribe('ch', (m) => void gone.push(m));
      await kv.subscribe('ch', (m) => void stays.push(m));
      await kv.publish('ch', 'before');
      await vi.waitFor(() => expect(gone).toEqual(['before']));
      await unsubscribe();
      await unsubscribe();
      await kv.publish('ch', 'after');
      await kv.publish('ch', 'sentinel');
      // Messages on one channel arrive in order, so once the sentinel is in, 'after' was decided.
      await vi.waitFor(() => expect(stays).toEqual(['before', 'after', 'sentinel']));
      expect(gone).toEqual(['before']);
    });

    it('resubscribes after every handler left the channel', async () => {
      const { kv } = open();
      const first = await kv.subscribe('ch', () => undefined);
      await first();
      const received: string[] = [];
      await kv.subscribe('ch', (m) => void received.push(m));
      await kv.publish('ch', 'again');
      await vi.waitFor(() => expect(received).toEqual(['again']));
    });

    it('survives handlers that throw or reject, and reports them', async () => {
      const { kv, errors } = open();
      const received: string[] = [];
      await kv.subscribe('ch', () => {
        throw new Error('sync boom');
      });
      await kv.subscribe('ch', () => Promise.reject(new Error('async boom')));
      await kv.subscribe('ch', (m) => void received.push(m));
      await kv.publish('ch', 'm1');
      await kv.publish('ch', 'm2');
      await vi.waitFor(() => expect(received).toEqual(['m1', 'm2']));
      await vi.waitFor(() => expect(errors.filter((e) => e.source === 'handler')).toHaveLength(4));
    });
  });

  describe('locks', () => {
    it('is exclusive until released', async () => {
      const { kv } = open();
      const lock = await kv.acquireLock('refresh', 10_000);
      expect(lock).not.toBeNull();
      expect(await kv.acquireLock('refresh', 10_000)).toBeNull();
      expect(await kv.acquireLock('other', 10_000)).not.toBeNull();
      expect(await lock!.release()).toBe(true);
      expect(await lock!.release()).toBe(false);
      expect(await kv.acquireLock('refresh', 10_000)).not.toBeNull();
    });

    it('expires, after which the old holder can neither release nor extend it', async () => {
      const { kv } = open();
      const old = await kv.acquireLock('refresh', 150);
      await backend.elapse(250);
      const current = await kv.acquireLock('refresh', 10_000);
      expect(current).not.toBeNull();
      expect(await old!.release()).toBe(false);
      expect(await old!.extend(10_000)).toBe(false);
      expect(await kv.acquireLock('refresh', 10_000)).toBeNull();
      expect(await current!.release()).toBe(true);
    });

    it('lives longer when the holder extends it', async () => {
      const { kv } = open();
      const lock = await kv.acquireLock('refresh', 150);
      expect(await lock!.extend(10_000)).toBe(true);
      await backend.elapse(250);
      expect(await kv.acquireLock('refresh', 10_000)).toBeNull();
    });

    it('cannot be released through a plain delete race by another holder', async () => {
      const { kv } = open();
      const first = await kv.acquireLock('refresh', 150);
      await backend.elapse(250);
      const second = await kv.acquireLock('refresh', 10_000);
      // The first holder waking late must not free the second holder's lock.
      expect(await first!.release()).toBe(false);
      expect(await kv.acquireLock('refresh', 10_000)).toBeNull();
      expect(await second!.release()).toBe(true);
    });
  });

  describe('withLock', () => {
    it('runs callers one at a time and returns their results', async () => {
      const { kv } = open();
      let inside = 0;
      let maxInside = 0;
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          kv.withLock('serial', { ttlMs: 10_000, waitMs: 10_000 }, async () => {
            inside += 1;
            maxInside = Math.max(maxInside, inside);
            await sleep(20);
            inside -= 1;
            return i;
          }),
        ),
      );
      expect(maxInside).toBe(1);
      expect(results).toEqual([0, 1, 2, 3, 4]);
      expect(await kv.acquireLock('serial', 1_000)).not.toBeNull();
    });

    it('gives up with "Lock busy" after waitMs, without running fn', async () => {
      const { kv } = open();
      await kv.acquireLock('busy', 10_000);
      const fn = vi.fn(() => Promise.resolve('ran'));
      const started = performance.now();
      await expectLockBusy(kv.withLock('busy', { ttlMs: 1_000, waitMs: 150 }, fn));
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      await expectLockBusy(kv.withLock('busy', { ttlMs: 1_000, waitMs: 0 }, fn));
      expect(fn).not.toHaveBeenCalled();
    });

    it('wakes a waiter on release instead of waiting for the next poll', async () => {
      const { kv } = open({ lockPollMs: 60_000 });
      const held = await kv.acquireLock('wake', 10_000);
      const started = performance.now();
      const waiting = kv.withLock('wake', { ttlMs: 1_000, waitMs: 20_000 }, () => Promise.resolve('got it'));
      await sleep(50);
      await held!.release();
      await expect(waiting).resolves.toBe('got it');
      expect(performance.now() - started).toBeLessThan(5_000);
    });

    it('stops a waiter at once when the store closes', async () => {
      const { kv } = open({ lockPollMs: 60_000 });
      await kv.acquireLock('closing', 10_000);
      const waiting = kv.withLock('closing', { ttlMs: 1_000, waitMs: 60_000 }, () => Promise.resolve('ran'));
      await sleep(50);
      const started = performance.now();
      // Attach the expectation first: the waiter may reject while close() is still running.
      const outcome = expect(waiting).rejects.toMatchObject({ code: 'HUB_ERR_NOT_READY' });
      await kv.close();
      await outcome;
      expect(performance.now() - started).toBeLessThan(5_000);
    });

    it('releases the lock when fn throws, and passes the error on', async () => {
      const { kv } = open();
      const boom = new Error('boom');
      await expect(
        kv.withLock('fails', { ttlMs: 10_000, waitMs: 0 }, () => Promise.reject(boom)),
      ).rejects.toBe(boom);
      expect(await kv.acquireLock('fails', 1_000)).not.toBeNull();
    });
  });

  describe('lifecycle', () => {
    it('pings, closes idempotently and refuses work after close', async () => {
      const { kv } = open();
      await kv.ping();
      await kv.close();
      await kv.close();
      await expect(kv.get('k')).rejects.toMatchObject({ code: 'HUB_ERR_NOT_READY' });
      await expect(kv.subscribe('ch', () => undefined)).rejects.toMatchObject({ code: 'HUB_ERR_NOT_READY' });
    });
  });
}

/**
 * What two stores on one Redis with the same prefix share (values, events, locks), and that
 * another prefix keeps them apart. `connect` opens a store whose keys sit under `prefix`.
 */
function sharedStoreContract(connect: (prefix: string, opts: OpenOptions) => Kv): void {
  describe('two clients with the same prefix', () => {
    const clients: Kv[] = [];
    let pairs = 0;
    const pair = (opts: OpenOptions = {}): [Kv, Kv] => {
      const shared = `pair-${++pairs}:`;
      const a = connect(shared, opts);
      const b = connect(shared, opts);
      clients.push(a, b);
      return [a, b];
    };
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((kv) => kv.close()));
    });

    it('share values, setIfAbsent and getAndDelete', async () => {
      const [a, b] = pair();
      expect(await a.setIfAbsent('shared-flow', 'from-a')).toBe(true);
      expect(await b.setIfAbsent('shared-flow', 'from-b')).toBe(false);
      expect(await b.get('shared-flow')).toBe('from-a');

      await a.set('shared-code', 'once');
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).getAndDelete('shared-code')),
      );
      expect(results.filter((r) => r !== null)).toEqual(['once']);
    });

    it("see each other's publishes", async () => {
      const [a, b] = pair();
      const onB: string[] = [];
      const onA: string[] = [];
      await b.subscribe('events', (m) => void onB.push(m));
      await a.subscribe('events', (m) => void onA.push(m));
      await a.publish('events', 'from-a');
      await b.publish('events', 'from-b');
      await vi.waitFor(() => expect(onB).toEqual(['from-a', 'from-b']));
      await vi.waitFor(() => expect(onA).toEqual(['from-a', 'from-b']));
    });

    it("respect each other's locks, and a release wakes the other's waiter", async () => {
      const [a, b] = pair({ lockPollMs: 60_000 });
      const held = await a.acquireLock('cross', 10_000);
      expect(await b.acquireLock('cross', 10_000)).toBeNull();
      const waiting = b.withLock('cross', { ttlMs: 1_000, waitMs: 20_000 }, () => Promise.resolve('b ran'));
      await sleep(50);
      expect(await held!.release()).toBe(true);
      const started = performance.now();
      await expect(waiting).resolves.toBe('b ran');
      expect(performance.now() - started).toBeLessThan(5_000);
    });

    it('are isolated from a client with another prefix', async () => {
      const [a] = pair();
      const other = connect(`other-${pairs}:`, {});
      clients.push(other);
      await a.set('k', 'mine');
      expect(await other.get('k')).toBeNull();
      expect(await other.acquireLock('x', 1_000)).not.toBeNull();
      expect(await a.acquireLock('x', 1_000)).not.toBeNull();
    });
  });
}

describe('memory kv', () => {
  let now = 1_700_000_000_000;
  const clock: Clock = { now: () => now };

  kvContract({
    open: (opts, errors) =>
      createMemoryKv({ clock, ...opts, onError: (error, source) => void errors.push({ error, source }) }),
    elapse: (ms) => {
      now += ms;
      return Promise.resolve();
    },
  });

  it('delivers after publish resolves, never inside it', async () => {
    const kv = createMemoryKv({ clock });
    try {
      const received: string[] = [];
      await kv.subscribe('ch', (m) => void received.push(m));
      await kv.publish('ch', 'm');
      expect(received).toEqual([]);
      await vi.waitFor(() => expect(received).toEqual(['m']));
    } finally {
      await kv.close();
    }
  });

  it('drops deliveries still pending at close', async () => {
    const kv = createMemoryKv({ clock });
    const received: string[] = [];
    await kv.subscribe('ch', (m) => void received.push(m));
    await kv.publish('ch', 'm');
    await kv.close();
    await sleep(20);
    expect(received).toEqual([]);
  });

  it('is what createKv picks without a Redis URL', async () => {
    const kv = createKv({ clock });
    try {
      await kv.set('k', 'v', { ttlMs: 100 });
      now += 200;
      expect(await kv.get('k')).toBeNull();
    } finally {
      await kv.close();
    }
  });
});

const redisUrl = inject('redisUrl');

describe.skipIf(!redisUrl)('redis kv', () => {
  // One prefix per file run: parallel files and earlier runs never see each other's keys.
  const keyPrefix = `sb-test:${randomUUID()}:`;

  afterAll(async () => {
    const admin = new Redis(redisUrl);
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await admin.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      if (keys.length > 0) await admin.del(...keys);
    } finally {
      await admin.quit();
    }
  });

  // Each store gets its own namespace under the file's, so a lock one test left behind is not
  // still held in the next.
  let stores = 0;
  kvContract({
    open: (opts, errors) =>
      createRedisKv({
        url: redisUrl,
        keyPrefix: `${keyPrefix}${++stores}:`,
        ...opts,
        onError: (error, source) => void errors.push({ error, source }),
      }),
    elapse: sleep,
  });

  sharedStoreContract((prefix, opts) =>
    createRedisKv({ url: redisUrl, keyPrefix: `${keyPrefix}${prefix}`, ...opts }),
  );

  it('reports, but survives, an unreachable server', async () => {
    const errors: ReportedError[] = [];
    const kv = createRedisKv({
      url: 'redis://127.0.0.1:1',
      keyPrefix,
      commandTimeoutMs: 200,
      onError: (error, source) => void errors.push({ error, source }),
    });
    try {
      await expect(kv.get('k')).rejects.toThrow();
      expect(errors.some((e) => e.source === 'connection')).toBe(true);
    } finally {
      await kv.close();
    }
  });

  it('is what createKv picks with a Redis URL', async () => {
    const a = createKv({ redisUrl, keyPrefix, clock: { now: () => 0 } });
    const b = createRedisKv({ url: redisUrl, keyPrefix });
    try {
      await a.set('picked', 'redis');
      expect(await b.get('picked')).toBe('redis');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

/** A Kv on `topology` under `keyPrefix`, reporting into `errors`. */
function topologyStore(
  topology: RedisTopology,
  keyPrefix: string,
  opts: OpenOptions,
  errors?: ReportedError[],
): Kv {
  return createRedisKv({
    topology,
    keyPrefix,
    ...opts,
    ...(errors ? { onError: (error, source) => void errors.push({ error, source }) } : {}),
  });
}

// Started by the test itself on loopback; under CI=true it must run, and fails if it cannot start.
describe.runIf(mustRunRedisSuites)('redis kv on a 3-node Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let topology: RedisTopology;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    topology = { kind: 'cluster', nodes: cluster.nodes, tls: false };
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  let stores = 0;
  kvContract({
    open: (opts, errors) => topologyStore(topology, `c${++stores}:`, opts, errors),
    elapse: sleep,
  });
  sharedStoreContract((prefix, opts) => topologyStore(topology, `shared:${prefix}`, opts));

  it("spreads one store's keys over the nodes (so the suite crosses slots)", async () => {
    const kv = topologyStore(topology, 'spread:', {});
    try {
      for (let i = 0; i < 30; i++) await kv.set(`k${i}`, 'v');
      const perNode = await Promise.all(
        cluster.nodes.map(async ({ host, port }) => {
          const node = new Redis({ host, port });
          try {
            return await node.dbsize();
          } finally {
            node.disconnect();
          }
        }),
      );
      expect(perNode.filter((n) => n > 0).length).toBeGreaterThan(1);
    } finally {
      await kv.close();
    }
  });

  it('delivers 300 publishes from one client, and from another, each in its publish order', async () => {
    const a = topologyStore(topology, 'order:', {});
    const b = topologyStore(topology, 'order:', {});
    try {
      const received: string[] = [];
      await b.subscribe('events', (m) => void received.push(m));
      const send = async (kv: Kv, tag: string): Promise<void> => {
        for (let i = 0; i < 300; i++) await kv.publish('events', `${tag}${i}`);
      };
      await Promise.all([send(a, 'a'), send(b, 'b')]);
      await vi.waitFor(() => expect(received).toHaveLength(600));
      for (const tag of ['a', 'b']) {
        const mine = received.filter((m) => m.startsWith(tag));
        expect(mine).toEqual(Array.from({ length: 300 }, (_, i) => `${tag}${i}`));
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe.runIf(mustRunRedisSuites)('redis kv through Redis Sentinel', () => {
  let sentinel: RedisSentinelHandle;
  let topology: RedisTopology;
  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    topology = { kind: 'sentinel', sentinels: sentinel.sentinels, name: sentinel.name, tls: false };
  }, 60_000);
  afterAll(async () => {
    await sentinel?.stop();
  });

  let stores = 0;
  kvContract({
    open: (opts, errors) => topologyStore(topology, `s${++stores}:`, opts, errors),
    elapse: sleep,
  });
  sharedStoreContract((prefix, opts) => topologyStore(topology, `shared:${prefix}`, opts));

  it('writes to the master the Sentinel names', async () => {
    const kv = topologyStore(topology, 'where:', {});
    const master = new Redis({ host: '127.0.0.1', port: sentinel.masterPort });
    try {
      await kv.set('k', 'through-sentinel');
      expect(await master.get('where:k')).toBe('through-sentinel');
    } finally {
      master.disconnect();
      await kv.close();
    }
  });
});
