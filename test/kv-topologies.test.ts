import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestHub, type TestHub } from './support/hub.js';
import { mustRunRedisSuites, startRedisCluster, type RedisClusterHandle } from './support/redis-cluster.js';
import { startRedisSentinel, type RedisSentinelHandle } from './support/redis-sentinel.js';

/**
 * Issue 17: a whole hub configured for Redis Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_NAME) or
 * Redis Cluster (REDIS_CLUSTER_NODES) is ready, says which set-up it runs on, and keeps its
 * state there under REDIS_NAMESPACE.
 */
describe.runIf(mustRunRedisSuites)('a hub on Redis Sentinel and on Redis Cluster', () => {
  let sentinel: RedisSentinelHandle;
  let cluster: RedisClusterHandle;
  const hubs: TestHub[] = [];

  beforeAll(async () => {
    [sentinel, cluster] = await Promise.all([startRedisSentinel('hubmaster'), startRedisCluster()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(hubs.map((hub) => hub.dispose()));
    await Promise.all([sentinel?.stop(), cluster?.stop()]);
  });

  const start = async (env: Record<string, string>): Promise<TestHub> => {
    const hub = await startTestHub({ env: { REDIS_NAMESPACE: 'topo', ...env } });
    hubs.push(hub);
    return hub;
  };

  it('through Sentinel: ready, and its keys are on the master the Sentinel names', async () => {
    const hub = await start({
      REDIS_SENTINELS: sentinel.sentinelsEnv,
      REDIS_SENTINEL_NAME: sentinel.name,
    });
    expect((await hub.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect(
      hub.logLines.some((l) => l.includes(`"redis":"redis sentinel hubmaster@${sentinel.sentinelsEnv}"`)),
    ).toBe(true);
    await hub.kv.set('probe', 'via-sentinel');
    const master = new Redis({ host: '127.0.0.1', port: sentinel.masterPort });
    try {
      expect(await master.get('topo:probe')).toBe('via-sentinel');
    } finally {
      master.disconnect();
    }
  });

  it('on a Cluster: ready, and two instances share state and events', async () => {
    const env = { REDIS_CLUSTER_NODES: cluster.nodesEnv };
    const [one, two] = await Promise.all([start(env), start(env)]);
    for (const hub of [one, two]) {
      expect((await hub.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      expect(hub.logLines.some((l) => l.includes(`"redis":"redis cluster ${cluster.nodesEnv}"`))).toBe(true);
    }
    await one.kv.set('probe', 'via-cluster');
    expect(await two.kv.get('probe')).toBe('via-cluster');
    const heard: string[] = [];
    await two.kv.subscribe('topology-check', (m) => void heard.push(m));
    await one.kv.publish('topology-check', 'hello');
    await vi.waitFor(() => expect(heard).toEqual(['hello']));
  });
});
