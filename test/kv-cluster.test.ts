import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisKv, type Kv, type RedisTopology } from '../src/kv/index.js';
import { mustRunRedisSuites, startRedisCluster, type RedisClusterHandle } from './support/redis-cluster.js';

const PREFIX = 'failover:';

/**
 * Issue 17: the KV on a Redis Cluster when a node dies. The subscriber connection sits on one
 * node, chosen by ioredis; when that node goes, ioredis moves the subscription to a live node, and
 * publishes on a channel served by the surviving nodes reach it again. (Publishes made while no
 * subscriber connection is up are lost, as on a single server that restarts.)
 */
describe.runIf(mustRunRedisSuites)('KV on a Redis Cluster losing a node', () => {
  let cluster: RedisClusterHandle;
  let topology: RedisTopology;
  const stores: Kv[] = [];
  const store = (): Kv => {
    const kv = createRedisKv({ topology, keyPrefix: PREFIX });
    stores.push(kv);
    return kv;
  };

  beforeAll(async () => {
    // Without full coverage the two surviving masters go on serving their own slots.
    cluster = await startRedisCluster({ requireFullCoverage: false });
    topology = { kind: 'cluster', nodes: cluster.nodes, tls: false };
  }, 60_000);

  afterAll(async () => {
    await Promise.all(stores.map((kv) => kv.close()));
    await cluster?.stop();
  });

  /** The port of the live node whose connection subscribes to `channel` (PUBSUB CHANNELS on each). */
  const subscribedOn = async (channel: string, dead?: number): Promise<number | undefined> => {
    for (const { host, port } of cluster.nodes.filter((n) => n.port !== dead)) {
      const node = new Redis({ host, port });
      try {
        if ((await node.pubsub('CHANNELS', channel)).length > 0) return port;
      } finally {
        node.disconnect();
      }
    }
    return undefined;
  };

  /** A channel name whose slot (as the publish script's key) a node other than `port` serves. */
  const channelServedAwayFrom = async (port: number): Promise<string> => {
    const other = cluster.nodes.find((n) => n.port !== port)!;
    const node = new Redis(other);
    try {
      const slots = await node.cluster('SLOTS');
      for (let i = 0; ; i++) {
        const slot = await node.cluster('KEYSLOT', `${PREFIX}events-${i}`);
        const owner = slots.find(([from, to]) => slot >= from && slot <= to);
        if (owner !== undefined && owner[2]?.[1] !== port) return `events-${i}`;
      }
    } finally {
      node.disconnect();
    }
  };

  it("a subscription survives the death of its connection's node", async () => {
    const subscriber = store();
    const publisher = store();
    await subscriber.subscribe('where', () => undefined);
    const subscriberPort = await subscribedOn(`${PREFIX}where`);
    expect(subscriberPort).toBeDefined();
    const channel = await channelServedAwayFrom(subscriberPort!);

    const heard: string[] = [];
    await subscriber.subscribe(channel, (m) => void heard.push(m));
    await publisher.publish(channel, 'before');
    await vi.waitFor(() => expect(heard).toEqual(['before']));

    await cluster.kill(subscriberPort!);
    // Publish until the moved subscription hears one: the move takes a reconnect or two.
    let sent = 0;
    await vi.waitFor(
      async () => {
        await publisher.publish(channel, `after-${++sent}`);
        expect(heard.some((m) => m.startsWith('after-'))).toBe(true);
      },
      { timeout: 20_000, interval: 200 },
    );
    const movedTo = await subscribedOn(`${PREFIX}${channel}`, subscriberPort);
    expect(movedTo).toBeDefined();
  }, 30_000);
});
