export type {
  Kv,
  KvDeliveryGap,
  KvLock,
  KvMessageHandler,
  KvSetOptions,
  KvUnsubscribe,
  KvWithLockOptions,
} from './types.js';
export type { KvErrorReporter, KvErrorSource } from './errors.js';
export { createMemoryKv, type MemoryKvOptions } from './memory-kv.js';
export { createRedisKv, type RedisKvOptions } from './redis-kv.js';
export { createKv, type CreateKvOptions } from './create-kv.js';
export {
  describeRedisTopology,
  openRedisConnection,
  type RedisAddress,
  type RedisClient,
  type RedisConnectionTuning,
  type RedisNodeAuth,
  type RedisTopology,
} from './redis-connection.js';
export { withOverrides } from './kv-overrides.js';
