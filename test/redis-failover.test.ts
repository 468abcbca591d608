import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisKv } from '../src/kv/index.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { mustRunRedisSuites, startRedisCluster, type RedisClusterHandle } from './support/redis-cluster.js';
import { startRedisSentinel, type RedisSentinelHandle } from './support/redis-sentinel.js';

/**
 * After the Sentinel switches, a hub must be on the new master within this long. Sentinel demotes
 * the old master (and so drops the clients still on it) no sooner than 8 s after the switch (four
 * of its 2 s publish periods), so a hub that only moves when its connection is cut would miss this;
 * one that listens for `+switch-master` moves at once, with seconds to spare on a loaded machine.
 */
const FOLLOW_WITHIN_MS = 6_000;

/** A direct connection to one data node, for looking inside it. */
async function onNode<T>(port: number, fn: (node: Redis) => Promise<T>): Promise<T> {
  const node = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0 });
  node.on('error', () => undefined);
  try {
    return await fn(node);
  } finally {
    node.disconnect();
  }
}

const readyStatus = async (hub: TestHub): Promise<number> =>
  (await hub.app.inject({ method: 'GET', url: '/readyz' })).statusCode;

/**
 * Issue 17: two hubs on Redis Sentinel keep their shared state and events through a failover, each
 * test on a master with one replica of its own.
 */
describe.runIf(mustRunRedisSuites)('two hubs on Redis Sentinel through a failover', () => {
  const sentinels: RedisSentinelHandle[] = [];
  const hubs: TestHub[] = [];

  afterAll(async () => {
    await Promise.all(hubs.map((hub) => hub.dispose()));
    await Promise.all(sentinels.map((sentinel) => sentinel.stop()));
  });

  /** A master with a replica, two hubs on it, and an event from one heard by the other. */
  const setUp = async (
    name: string,
  ): Promise<{ sentinel: RedisSentinelHandle; one: TestHub; two: TestHub; heard: string[] }> => {
    const sentinel = await startRedisSentinel(name, { replica: true });
    sentinels.push(sentinel);
    const env = {
      REDIS_NAMESPACE: 'fo',
      REDIS_SENTINELS: sentinel.sentinelsEnv,
      REDIS_SENTINEL_NAME: sentinel.name,
    };
    const [one, two] = await Promise.all([startTestHub({ env }), startTestHub({ env })]);
    hubs.push(one, two);

    for (const hub of [one, two]) expect(await readyStatus(hub)).toBe(200);
    await one.kv.set('state', 'before');
    expect(await two.kv.get('state')).toBe('before');
    const heard: string[] = [];
    await two.kv.subscribe('events', (m) => void heard.push(m));
    await one.kv.publish('events', 'before');
    await vi.waitFor(() => expect(heard).toContain('before'), { timeout: 10_000 });
    return { sentinel, one, two, heard };
  };

  /**
   * Within `withinMs` each: a write of one hub is on `newMaster` and the other reads it, a publish
   * of one reaches the other's subscription (moved to the new master), and both are ready.
   */
  const expectFollowed = async (
    { one, two, heard }: { one: TestHub; two: TestHub; heard: string[] },
    newMaster: number,
    withinMs: number,
  ): Promise<void> => {
    // Write until a write is on the new master: commands may fail (503) while the hub reconnects.
    let writes = 0;
    let landed = '';
    await vi.waitFor(
      async () => {
        const value = `after-${++writes}`;
        await one.kv.set('state', value);
        expect(await onNode(newMaster, (node) => node.get('fo:state'))).toBe(value);
        landed = value;
      },
      { timeout: withinMs, interval: 100 },
    );
    await vi.waitFor(async () => expect(await two.kv.get('state')).toBe(landed), {
      timeout: withinMs,
      interval: 100,
    });
    let publishes = 0;
    await vi.waitFor(
      async () => {
        await one.kv.publish('events', `after-${++publishes}`).catch(() => undefined);
        expect(heard.some((m) => m.startsWith('after-'))).toBe(true);
      },
      { timeout: withinMs, interval: 100 },
    );
    for (const hub of [one, two]) {
      await vi.waitFor(async () => expect(await readyStatus(hub)).toBe(200), { timeout: withinMs });
    }
  };

  // The hard case: the old master runs on and takes writes (which its resync then drops) until
  // Sentinel demotes it, so the hubs must follow the switch itself.
  it('SENTINEL FAILOVER: within seconds writes land on the new master and pub/sub delivers', async () => {
    const pair = await setUp('fomaster');
    const newMaster = await pair.sentinel.failover();
    expect(newMaster).toBe(pair.sentinel.replicaPort);
    await expectFollowed(pair, newMaster, FOLLOW_WITHIN_MS);
  }, 60_000);

  it('the master dies: /readyz is 503, then the hubs work on the promoted replica', async () => {
    const pair = await setUp('crashmaster');
    await pair.sentinel.kill(pair.sentinel.masterPort);
    for (const hub of [pair.one, pair.two]) {
      await vi.waitFor(async () => expect(await readyStatus(hub)).toBe(503), { timeout: 10_000 });
    }
    // Sentinel waits out down-after-milliseconds (5 s), then promotes the replica.
    await vi.waitFor(async () => expect(await pair.sentinel.masterNow()).toBe(pair.sentinel.replicaPort), {
      timeout: 30_000,
      interval: 200,
    });
    await expectFollowed(pair, pair.sentinel.replicaPort!, 15_000);
  }, 90_000);
});

/**
 * The KV's Sentinel connections each watch the Sentinel for `+switch-master`; closing the KV while
 * its master is down (its connections waiting to reconnect) must end those watches too, or they
 * would keep a stopped hub's process alive.
 */
describe.runIf(mustRunRedisSuites)('a KV on Sentinel closed while its master is down', () => {
  let sentinel: RedisSentinelHandle;

  beforeAll(async () => {
    sentinel = await startRedisSentinel('closemaster');
  }, 60_000);

  afterAll(async () => {
    await sentinel?.stop();
  });

  /** Clients subscribed on the Sentinel (CLIENT LIST, `sub=` > 0). */
  const watching = async (): Promise<number> =>
    onNode(sentinel.sentinels[0]!.port, async (node) => {
      const list = (await node.call('CLIENT', 'LIST')) as string;
      return list.split('\n').filter((line) => /\bsub=[1-9]/.test(line)).length;
    });

  it('leaves no subscription on the Sentinel', async () => {
    const kv = createRedisKv({
      topology: { kind: 'sentinel', sentinels: sentinel.sentinels, name: sentinel.name, tls: false },
      keyPrefix: 'close:',
    });
    await kv.subscribe('events', () => undefined);
    await kv.ping();
    await vi.waitFor(async () => expect(await watching()).toBe(2), { timeout: 10_000 });

    await sentinel.kill(sentinel.masterPort);
    await vi.waitFor(
      async () =>
        expect(
          await kv.ping().then(
            () => 'up',
            () => 'down',
          ),
        ).toBe('down'),
      {
        timeout: 10_000,
      },
    );
    await kv.close();
    await vi.waitFor(async () => expect(await watching()).toBe(0), { timeout: 10_000 });
  }, 60_000);
});

/** An OAuth server: a call first reads the caller's authorization state from the KV. */
const OAUTH_YAML = `
mcpServers:
  remote:
    type: streamable-http
    url: http://127.0.0.1:9/mcp
    requiresOAuth: true
`;

/**
 * Issue 17: a Redis Cluster that cannot serve (a master killed with no replica, so its slots have
 * no node and, with full coverage required, every node answers CLUSTERDOWN) is a dependency that is
 * away: a request needing the KV answers 503 HUB_ERR_KV_UNAVAILABLE with Retry-After, as a single
 * Redis that stops does, never a 500, and the answer shows nothing of Redis or the caller's token.
 */
describe.runIf(mustRunRedisSuites)('a hub on a Redis Cluster that cannot serve', () => {
  let cluster: RedisClusterHandle;
  let hub: TestHub;
  let base: string;
  let token: string;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    hub = await startTestHub({
      env: { REDIS_NAMESPACE: 'down', REDIS_CLUSTER_NODES: cluster.nodesEnv },
      yaml: OAUTH_YAML,
    });
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    token = await hub.userToken('dana@example.com');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await cluster?.stop();
  });

  const callTool = async (): Promise<{ status: number; retryAfter: string | null; body: string }> => {
    const res = await fetch(`${base}/api/mcp/remote/tools/anything/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ arguments: {} }),
    });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
  };

  it('answers 503 HUB_ERR_KV_UNAVAILABLE with Retry-After on CLUSTERDOWN, never a 500', async () => {
    const before = await callTool();
    expect(before.status).not.toBe(503); // whatever the unreachable server makes of it, Redis answered
    expect(before.status).not.toBe(500);

    const [dead, survivor] = cluster.nodes;
    await cluster.kill(dead!.port);
    // Until the survivors declare the node failed (cluster-node-timeout), calls whose keys it
    // served fail by connection; none of them may be a 500 either.
    const seen: number[] = [];
    await vi.waitFor(
      async () => {
        seen.push((await callTool()).status);
        const info = await onNode(survivor!.port, (node) => node.cluster('INFO'));
        expect(info).toContain('cluster_state:fail');
      },
      { timeout: 30_000, interval: 200 },
    );
    expect(seen.filter((status) => status === 500)).toEqual([]);

    const during = await callTool();
    expect(during.status).toBe(503);
    expect(during.retryAfter).toBe('5');
    expect(JSON.parse(during.body)).toMatchObject({ code: 'HUB_ERR_KV_UNAVAILABLE', dependency: 'redis' });
    for (const leak of [token, 'CLUSTERDOWN', ...cluster.nodes.map((n) => String(n.port))]) {
      expect(during.body).not.toContain(leak);
    }
  }, 60_000);
});
