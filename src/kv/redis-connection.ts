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
    case 'sentinel': {
      const connection = new Redis({
        ...common,
        ...nodeAuth(topology),
        sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
        name: topology.name,
        ...(topology.sentinelPassword === undefined ? {} : { sentinelPassword: topology.sentinelPassword }),
        reconnectOnError: retryOnDemotedMaster,
      });
      followSwitchMaster(connection, topology);
      return connection;
    }
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
 * Moves a Sentinel connection to the new master as soon as a Sentinel announces `+switch-master`.
 * A failover asked of Sentinel (or done while the old master still runs) leaves that master up and
 * writable until Sentinel demotes it, 8 s or more later; writes sent there meanwhile are lost to its
 * resync. ioredis's own `failoverDetector` is not used: its listener outlives a dropped connection,
 * and an announcement arriving while the connection asks Sentinel for the master (after a crash)
 * aborts that attempt, after which ioredis stops reconnecting for good (its SentinelConnector, 5.x;
 * a master-crash test with it failed once in five runs under load, the hub never reconnecting).
 */
function followSwitchMaster(connection: Redis, topology: Extract<RedisTopology, { kind: 'sentinel' }>): void {
  const watchers = topology.sentinels.map(({ host, port }) => {
    const watcher = new Redis({
      host,
      port,
      ...(topology.sentinelPassword === undefined ? {} : { password: topology.sentinelPassword }),
    });
    // A Sentinel that is away only delays the move; the connection itself reports Redis's state.
    watcher.on('error', () => undefined);
    watcher.on('message', (_channel: string, message: string) => {
      if (message.split(' ', 1)[0] !== topology.name) return;
      // Only a connection whose socket is up: one that is (re)connecting asks Sentinel for the
      // master anyway, and a disconnect while it asks would end it (as above).
      if (connection.status === 'ready' || connection.status === 'connect') connection.disconnect(true);
    });
    watcher.subscribe('+switch-master').catch(() => undefined);
    return watcher;
  });
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    for (const watcher of watchers) watcher.disconnect();
  };
  connection.once('end', stop);
  // A connection closed while it waits to reconnect never reaches 'end' (ioredis only clears its
  // timer), so closing it stops the watchers too; otherwise they would keep the process alive.
  const disconnect = connection.disconnect.bind(connection);
  connection.disconnect = (reconnect = false): void => {
    if (!reconnect) stop();
    disconnect(reconnect);
  };
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
