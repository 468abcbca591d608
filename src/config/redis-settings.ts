import type { RedisAddress, RedisTopology } from '../kv/index.js';
import type { EnvSource } from './env-expansion.js';

/** Where the hub's shared state lives in Redis, and under which name. */
export interface RedisSettings {
  /**
   * `REDIS_URL`, `REDIS_SENTINELS` (+ `REDIS_SENTINEL_NAME`) or `REDIS_CLUSTER_NODES`, at most one;
   * undefined: flows, caches, events and locks stay in this process.
   */
  redis: RedisTopology | undefined;
  /**
   * `REDIS_NAMESPACE` followed by `:` (default `sb:`): every key and pub/sub channel the hub uses,
   * rate-limit counters included, starts with it. Pub/sub ignores the database index, so two
   * deployments sharing one Redis stay apart only by this name.
   */
  redisKeyPrefix: string;
}

const DEFAULT_NAMESPACE = 'sb';
/**
 * Letters, digits, `.`, `_`, `-`: no `{` or `}`, which would make Redis Cluster hash the namespace
 * instead of the key (cluster spec, "Hash tags"), and no `:`, the separator the hub adds.
 */
const NAMESPACE_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

type Problem = (name: string, message: string) => void;
type Read = (env: EnvSource, name: string) => string | undefined;

/**
 * Reads the Redis variables. A single server is `REDIS_URL` (credentials and TLS in the URL); a
 * Sentinel or Cluster set-up lists its addresses and takes credentials from `REDIS_USERNAME`,
 * `REDIS_PASSWORD` (data nodes), `REDIS_SENTINEL_PASSWORD` and TLS from `REDIS_TLS`.
 */
export function redisSettingsFrom(env: EnvSource, read: Read, problem: Problem): RedisSettings {
  const namespace = read(env, 'REDIS_NAMESPACE')?.trim() ?? DEFAULT_NAMESPACE;
  if (!NAMESPACE_PATTERN.test(namespace)) {
    problem('REDIS_NAMESPACE', "must be 1 to 64 letters, digits, '.', '_' or '-'");
  }
  return { redis: topologyFrom(env, read, problem), redisKeyPrefix: `${namespace}:` };
}

function topologyFrom(env: EnvSource, read: Read, problem: Problem): RedisTopology | undefined {
  const url = read(env, 'REDIS_URL')?.trim();
  const sentinelsText = read(env, 'REDIS_SENTINELS');
  const clusterText = read(env, 'REDIS_CLUSTER_NODES');
  const sentinelName = read(env, 'REDIS_SENTINEL_NAME')?.trim();
  const given = [
    url === undefined ? undefined : 'REDIS_URL',
    sentinelsText === undefined ? undefined : 'REDIS_SENTINELS',
    clusterText === undefined ? undefined : 'REDIS_CLUSTER_NODES',
  ].filter((name) => name !== undefined);
  if (given.length > 1) {
    problem(given[1]!, `must not be set together with ${given[0]!}: choose one Redis set-up`);
    return undefined;
  }
  if (sentinelName !== undefined && sentinelsText === undefined) {
    problem('REDIS_SENTINEL_NAME', 'is only used with REDIS_SENTINELS');
  }
  const auth = nodeAuthFrom(env, read, problem, url !== undefined);
  if (sentinelsText === undefined && read(env, 'REDIS_SENTINEL_PASSWORD') !== undefined) {
    problem('REDIS_SENTINEL_PASSWORD', 'is only used with REDIS_SENTINELS');
  }

  if (url !== undefined) {
    if (!isRedisUrl(url)) problem('REDIS_URL', 'must be a redis:// or rediss:// URL');
    return { kind: 'standalone', url };
  }
  if (sentinelsText !== undefined) {
    const sentinels = addressList(sentinelsText, 'REDIS_SENTINELS', problem);
    if (sentinelName === undefined) {
      problem(
        'REDIS_SENTINEL_NAME',
        "is required with REDIS_SENTINELS: the master's name the Sentinels monitor",
      );
    }
    return {
      kind: 'sentinel',
      sentinels,
      name: sentinelName ?? '',
      sentinelPassword: read(env, 'REDIS_SENTINEL_PASSWORD'),
      ...auth,
    };
  }
  if (clusterText !== undefined) {
    return { kind: 'cluster', nodes: addressList(clusterText, 'REDIS_CLUSTER_NODES', problem), ...auth };
  }
  return undefined;
}

/** `REDIS_USERNAME`, `REDIS_PASSWORD`, `REDIS_TLS`: for Sentinel and Cluster only; a URL carries its own. */
function nodeAuthFrom(
  env: EnvSource,
  read: Read,
  problem: Problem,
  withUrl: boolean,
): { username: string | undefined; password: string | undefined; tls: boolean } {
  const username = read(env, 'REDIS_USERNAME');
  const password = read(env, 'REDIS_PASSWORD');
  const tlsText = read(env, 'REDIS_TLS')?.trim().toLowerCase();
  if (withUrl) {
    for (const [name, value] of [
      ['REDIS_USERNAME', username],
      ['REDIS_PASSWORD', password],
      ['REDIS_TLS', tlsText],
    ] as const) {
      if (value !== undefined) {
        problem(name, 'is for REDIS_SENTINELS and REDIS_CLUSTER_NODES; put it in REDIS_URL instead');
      }
    }
  }
  let tls = false;
  if (tlsText !== undefined) {
    if (['true', '1', 'yes'].includes(tlsText)) tls = true;
    else if (!['false', '0', 'no'].includes(tlsText)) problem('REDIS_TLS', 'must be true or false');
  }
  return { username, password, tls };
}

function isRedisUrl(text: string): boolean {
  return URL.canParse(text) && ['redis:', 'rediss:'].includes(new URL(text).protocol);
}

/** `host:port,host:port,…` (an IPv6 host in brackets): every item reported when wrong. */
function addressList(text: string, name: string, problem: Problem): RedisAddress[] {
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  const addresses: RedisAddress[] = [];
  for (const [index, item] of items.entries()) {
    const address = parseAddress(item);
    if (address === undefined) {
      // Named by position, not quoted: a mistyped item may hold a password.
      problem(
        name,
        `item ${index + 1} is not host:port (a port from 1 to 65535; an IPv6 address in brackets)`,
      );
    } else {
      addresses.push(address);
    }
  }
  if (items.length === 0) problem(name, 'must list at least one host:port');
  return addresses;
}

function parseAddress(item: string): RedisAddress | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]/@]+):(\d{1,5})$/.exec(item);
  if (match === null) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  const host = match[1]!.startsWith('[') ? match[1]!.slice(1, -1) : match[1]!;
  return { host, port };
}
