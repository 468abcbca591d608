import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** One Redis server or Sentinel address. */
export interface RedisAddress {
  host: string;
  port: number;
}

/** Credentials and TLS for the data nodes of a Sentinel or Cluster set-up (a URL carries its own). */
export interface RedisNodeAuth {
  username?: string | undefined;
  password?: string | undefined;
  /** Connect to the data nodes over TLS (`rediss://` for a single server). */
  tls: boolean;
}

/**
 * Where the hub's Redis is, in one of the three shapes ioredis supports: a single server (URL), a
 * master found through Sentinel, or a Redis Cluster reached through any of its seed nodes.
 */
export type RedisTopology =
  | { kind: 'standalone'; url: string }
  | ({
      kind: 'sentinel';
      sentinels: readonly RedisAddress[];
      /** The master's name as the Sentinels know it. */
      name: string;
      sentinelPassword?: string | undefined;
    } & RedisNodeAuth)
  | ({ kind: 'cluster'; nodes: readonly RedisAddress[] } & RedisNodeAuth);

/** A connection to any topology: both classes share ioredis's command interface. */
export type RedisClient = Redis | Cluster;

/** How one connection behaves while Redis is away. */
export interface RedisConnectionTuning {
  /** Every command fails after this long instead of waiting forever. */
  commandTimeoutMs: number;
  /** False: a command sent while disconnected fails at once instead of waiting for the reconnect. */
  offlineQueue: boolean;
  /** ioredis's re-sends of one command over reconnects; null = until it succeeds or times out. */
  maxRetriesPerRequest?: number | null;
}

/**
 * Opens a connection to the topology with ioredis's own support for it (`Redis` with `sentinels`,
 * `Redis.Cluster`). The KV's command and subscriber connections and the rate limiter's all come
 * from here, so each follows failovers and slot moves the same way.
 */
export function openRedisConnection(topology: RedisTopology, tuning: RedisConnectionTuning): RedisClient {
  const perNode: RedisOptions = {
    commandTimeout: tuning.commandTimeoutMs,
    ...(tuning.maxRetriesPerRequest === undefined
      ? {}
      : { maxRetriesPerRequest: tuning.maxRetriesPerRequest }),
  };
  const common: RedisOptions = { ...perNode, enableOfflineQueue: tuning.offlineQueue };
  switch (topology.kind) {
    case 'standalone':
      return new Redis(topology.url, common);
    case 'sentinel':
      return new Redis({
        ...common,
        ...nodeAuth(topology),
        sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
        name: topology.name,
        ...(topology.sentinelPassword === undefined ? {} : { sentinelPassword: topology.sentinelPassword }),
        // A failover asked of Sentinel (or done while the old master still runs) leaves that master
        // up and writable until Sentinel demotes it, seconds later; writes sent there meanwhile are
        // dropped by its resync. Listening for +switch-master makes the connection move at once.
        failoverDetector: true,
        reconnectOnError: retryOnDemotedMaster,
      });
    case 'cluster':
      return new Cluster(
        topology.nodes.map(({ host, port }) => ({ host, port })),
        {
          enableOfflineQueue: tuning.offlineQueue,
          // Writes and reads of one key go to its master: replicas may lag behind a lock or a flow.
          scaleReads: 'master',
          // Whether a command waits for the cluster is the cluster's option (above); node
          // connections, opened lazily by ioredis, keep its defaults.
          redisOptions: { ...perNode, ...nodeAuth(topology) },
        },
      );
  }
}

/**
 * A READONLY reply means the node this connection is on is a replica now (a demoted master, when
 * +switch-master was missed): reconnect, which asks Sentinel for the master again, and send the
 * command there (2). A refused write had no effect, so sending it again is safe.
 */
function retryOnDemotedMaster(error: Error): 2 | false {
  return error.message.startsWith('READONLY') ? 2 : false;
}

function nodeAuth(auth: RedisNodeAuth): RedisOptions {
  return {
    ...(auth.username === undefined ? {} : { username: auth.username }),
    ...(auth.password === undefined ? {} : { password: auth.password }),
    ...(auth.tls ? { tls: {} } : {}),
  };
}

/** The topology as a log may show it: kind and addresses, never a password. */
export function describeRedisTopology(topology: RedisTopology): string {
  const list = (addresses: readonly RedisAddress[]): string =>
    addresses.map(({ host, port }) => `${host}:${port}`).join(',');
  switch (topology.kind) {
    case 'standalone': {
      const url = new URL(topology.url);
      return `redis ${url.protocol}//${url.host}`;
    }
    case 'sentinel':
      return `redis sentinel ${topology.name}@${list(topology.sentinels)}`;
    case 'cluster':
      return `redis cluster ${list(topology.nodes)}`;
  }
}
