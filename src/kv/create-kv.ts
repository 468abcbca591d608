import type { Clock, Random } from '../core/index.js';
import type { KvErrorReporter } from './errors.js';
import { createMemoryKv } from './memory-kv.js';
import type { RedisTopology } from './redis-connection.js';
import { createRedisKv } from './redis-kv.js';
import type { Kv } from './types.js';

/** Options for {@link createKv}. */
export interface CreateKvOptions {
  /** When set, state is shared through this Redis (single server, Sentinel or Cluster). */
  redis?: RedisTopology | undefined;
  /** A single Redis server's URL: the same as `redis: { kind: 'standalone', url }`. */
  redisUrl?: string;
  /** Prefix (namespace) for Redis keys and channels; default `sb:`. Unused in memory. */
  keyPrefix?: string;
  /** Judges expiry in memory; Redis expires keys on its own clock. */
  clock: Clock;
  random?: Random;
  /** Receives failures the store swallowed (connection drops, handler errors); wire it to the logger. */
  onError?: KvErrorReporter;
}

/** Picks the store: Redis when one is configured (several instances), memory otherwise. */
export function createKv(options: CreateKvOptions): Kv {
  const shared = {
    ...(options.random === undefined ? {} : { random: options.random }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  };
  const topology: RedisTopology | undefined =
    options.redis ??
    (options.redisUrl === undefined ? undefined : { kind: 'standalone', url: options.redisUrl });
  if (topology !== undefined) {
    return createRedisKv({
      topology,
      ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
      ...shared,
    });
  }
  return createMemoryKv({ clock: options.clock, ...shared });
}
