import { systemRandom, type Random } from '../core/index.js';
import { HubError } from '../errors/index.js';
import {
  checkTtlMs,
  deliverSafely,
  ignoreKvError,
  kvUnavailable,
  type KvErrorReporter,
  type KvErrorSource,
} from './errors.js';
import { lockKey, lockReleasedChannel, newLockToken, runWithLock } from './locking.js';
import { openRedisConnection, type RedisClient, type RedisTopology } from './redis-connection.js';
import { asKvError } from './redis-errors.js';
import type {
  Kv,
  KvDeliveryGap,
  KvLock,
  KvMessageHandler,
  KvSetOptions,
  KvUnsubscribe,
  KvWithLockOptions,
} from './types.js';

/**
 * Options for {@link createRedisKv}: where Redis is (a `redis://` or `rediss://` URL for a single
 * server, or any {@link RedisTopology}), and tuning. Expiry runs on the Redis server's clock, so
 * none is injected.
 */
export type RedisKvOptions = ({ url: string } | { topology: RedisTopology }) & RedisKvTuning;

/** How {@link createRedisKv} names, times and reports. */
export interface RedisKvTuning {
  /**
   * Prepended to every key and channel (the namespace), so several deployments (or test files)
   * can share one Redis: pub/sub ignores the database index, so only the name keeps them apart.
   * Default `sb:`.
   */
  keyPrefix?: string;
  /** Source of lock tokens. */
  random?: Random;
  /** Every command fails after this long instead of queueing forever while Redis is away; default 5 s. */
  commandTimeoutMs?: number;
  /** Re-try interval of `withLock` while waiting on a lock that may expire silently; default 50 ms. */
  lockPollMs?: number;
  /** Receives connection errors (which would otherwise crash the process), handler errors and lock clean-up failures. */
  onError?: KvErrorReporter;
}

// Compare-and-delete: only the token holder may free the lock, and waiters hear of it at once.
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], '')
  return 1
end
return 0`;

/**
 * PUBLISH with the channel named as the script's key. A keyless PUBLISH goes to a random node of a
 * Cluster, so two publishes in a row could reach a subscriber out of order; as a key the channel
 * picks one node (its slot's master) for every publish on it, whose bus link keeps their order.
 * The key is never read.
 */
const PUBLISH_SCRIPT = `return redis.call('PUBLISH', KEYS[1], ARGV[1])`;

// Compare-and-expire: a holder whose lock already passed to someone else must not prolong it.
const EXTEND_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

interface Subscription {
  handler: KvMessageHandler;
  active: boolean;
}

interface ChannelState {
  subscriptions: Set<Subscription>;
  /** Settles when Redis confirmed SUBSCRIBE; later subscribers to the channel wait on it too. */
  ready: Promise<void>;
}

/**
 * The shared store for several instances. Commands use one connection; subscriptions use a second,
 * opened on first subscribe, because a Redis connection in subscriber mode cannot run commands.
 */
export function createRedisKv(options: RedisKvOptions): Kv {
  return new RedisKv(options);
}

/** See {@link createRedisKv}. */
class RedisKv implements Kv {
  private readonly prefix: string;
  private readonly random: Random;
  private readonly onError: KvErrorReporter;
  private readonly commandTimeout: number;
  private readonly topology: RedisTopology;
  /** Subscribed channels (full names), each with its local subscriptions. */
  private readonly channels = new Map<string, ChannelState>();
  private closed = false;
  private readonly closing = new AbortController();
  private readonly lockWait: { pollMs: number; onError: KvErrorReporter; closed: AbortSignal };
  private readonly commands: RedisClient;
  /** Opened on first subscribe. */
  private subscriber: RedisClient | undefined;
  /**
   * Until Redis first answers, commands queue (start-up may issue some before the connection is
   * up); after that, a command sent while the connection is down fails at once instead of waiting
   * out the command timeout, and ioredis keeps reconnecting behind it.
   */
  private connectedOnce = false;
  private readonly gaps: DeliveryGaps;

  constructor(options: RedisKvOptions) {
    this.prefix = options.keyPrefix ?? 'sb:';
    this.random = options.random ?? systemRandom;
    this.onError = options.onError ?? ignoreKvError;
    this.commandTimeout = options.commandTimeoutMs ?? 5_000;
    this.lockWait = { pollMs: options.lockPollMs ?? 50, onError: this.onError, closed: this.closing.signal };
    this.topology = 'topology' in options ? options.topology : { kind: 'standalone', url: options.url };
    this.gaps = new DeliveryGaps(this.onError);
    this.commands = this.connect('connection');
    this.commands.on('ready', () => {
      this.connectedOnce = true;
    });
  }

  get(key: string): Promise<string | null> {
    return this.run((c) => c.get(this.prefix + key));
  }

  async set(key: string, value: string, opts?: KvSetOptions): Promise<void> {
    const ttl = opts?.ttlMs === undefined ? undefined : checkTtlMs(opts.ttlMs);
    const full = this.prefix + key;
    await this.run((c) => (ttl === undefined ? c.set(full, value) : c.set(full, value, 'PX', ttl)));
  }

  setIfAbsent(key: string, value: string, opts?: KvSetOptions): Promise<boolean> {
    return this.setIfAbsentFor(key, value, opts?.ttlMs);
  }

  getAndDelete(key: string): Promise<string | null> {
    return this.run((c) => c.getdel(this.prefix + key));
  }

  async delete(key: string): Promise<boolean> {
    return (await this.run((c) => c.del(this.prefix + key))) > 0;
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run((c) => c.eval(PUBLISH_SCRIPT, 1, this.prefix + channel, message));
  }

  async subscribe(channel: string, handler: KvMessageHandler): Promise<KvUnsubscribe> {
    const connection = this.subscriberConnection();
    const fullChannel = this.prefix + channel;
    const subscription: Subscription = { handler, active: true };
    let state = this.channels.get(fullChannel);
    if (!state) {
      const ready = connection.subscribe(fullChannel).then(() => undefined);
      const created: ChannelState = { subscriptions: new Set(), ready };
      // A failed SUBSCRIBE must not stay cached: the next subscriber should try again.
      ready.catch(() => {
        if (this.channels.get(fullChannel) === created) this.channels.delete(fullChannel);
      });
      this.channels.set(fullChannel, created);
      state = created;
    }
    const owner = state;
    owner.subscriptions.add(subscription);
    try {
      await owner.ready;
    } catch (error) {
      subscription.active = false;
      owner.subscriptions.delete(subscription);
      throw error;
    }
    return async () => {
      if (!subscription.active) return;
      subscription.active = false;
      owner.subscriptions.delete(subscription);
      if (owner.subscriptions.size === 0 && this.channels.get(fullChannel) === owner) {
        this.channels.delete(fullChannel);
        // Commands on one connection run in order, so a later SUBSCRIBE to this channel still wins.
        if (!this.closed) await connection.unsubscribe(fullChannel);
      }
    };
  }

  onDeliveryGap(listener: (gap: KvDeliveryGap) => void): () => void {
    return this.gaps.add(listener);
  }

  async acquireLock(name: string, ttlMs: number): Promise<KvLock | null> {
    const token = newLockToken(this.random);
    return (await this.setIfAbsentFor(lockKey(name), token, ttlMs)) ? this.heldLock(name, token) : null;
  }

  withLock<T>(name: string, opts: KvWithLockOptions, fn: () => Promise<T>): Promise<T> {
    return runWithLock(this, this.lockWait, name, opts, fn);
  }

  async ping(): Promise<void> {
    await this.run((c) => c.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    for (const state of this.channels.values()) {
      for (const subscription of state.subscriptions) subscription.active = false;
    }
    this.channels.clear();
    const connections = this.subscriber ? [this.commands, this.subscriber] : [this.commands];
    await Promise.all(connections.map(shutDown));
  }

  private connect(source: KvErrorSource): RedisClient {
    // The offline queue holds commands sent before the first connection (see `open`).
    const connection = openRedisConnection(this.topology, {
      commandTimeoutMs: this.commandTimeout,
      offlineQueue: true,
    });
    // Without a listener an 'error' event would be thrown and take the process down.
    connection.on('error', (error: unknown) => this.onError(error, source));
    return connection;
  }

  private open(): RedisClient {
    if (this.closed) throw new HubError('HUB_ERR_NOT_READY', { message: 'KV store is closed' });
    if (this.connectedOnce && this.commands.status !== 'ready') throw kvUnavailable();
    return this.commands;
  }

  /** Runs commands on the connection; a failure to reach Redis becomes HUB_ERR_KV_UNAVAILABLE. */
  private async run<T>(command: (connection: RedisClient) => Promise<T>): Promise<T> {
    try {
      return await command(this.open());
    } catch (error) {
      throw asKvError(error);
    }
  }

  private subscriberConnection(): RedisClient {
    this.open();
    if (!this.subscriber) {
      const subscriber = this.connect('subscriber-connection');
      subscriber.on('message', (channel: string, message: string) => {
        const state = this.channels.get(channel);
        if (!state) return;
        // A snapshot: subscriptions added by a handler start with the next message.
        for (const subscription of [...state.subscriptions]) {
          if (subscription.active) deliverSafely(subscription.handler, message, this.onError);
        }
      });
      this.gaps.watch(subscriber, () => this.closed);
      this.subscriber = subscriber;
    }
    return this.subscriber;
  }

  private heldLock(name: string, token: string): KvLock {
    const key = this.prefix + lockKey(name);
    const released = this.prefix + lockReleasedChannel(name);
    return {
      name,
      release: async () => {
        const result = await this.run((c) => c.eval(RELEASE_SCRIPT, 1, key, token, released));
        return result === 1;
      },
      extend: async (ttlMs) => {
        const ttl = String(checkTtlMs(ttlMs));
        const result = await this.run((c) => c.eval(EXTEND_SCRIPT, 1, key, token, ttl));
        return result === 1;
      },
    };
  }

  private async setIfAbsentFor(key: string, value: string, ttlMs: number | undefined): Promise<boolean> {
    const ttl = ttlMs === undefined ? undefined : checkTtlMs(ttlMs);
    const full = this.prefix + key;
    const reply = await this.run((c) =>
      ttl === undefined ? c.set(full, value, 'NX') : c.set(full, value, 'PX', ttl, 'NX'),
    );
    return reply === 'OK';
  }
}

/**
 * Tells listeners when the subscriber connection drops (messages published from then on are lost to
 * this instance) and when it is subscribed again. ioredis re-sends SUBSCRIBE for every channel after
 * it reconnects, just after its 'ready' event; a PING sent behind those answers once they are done.
 * (On a Cluster the PING may go to another node, so `resumed` can come a moment early there.)
 */
class DeliveryGaps {
  private readonly listeners = new Set<(gap: KvDeliveryGap) => void>();
  /** Whether the connection was up once: its first 'ready' ends no gap. */
  private upOnce = false;
  private lost = false;

  constructor(private readonly onError: (error: unknown, source: KvErrorSource) => void) {}

  add(listener: (gap: KvDeliveryGap) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  watch(connection: RedisClient, closed: () => boolean): void {
    connection.on('close', () => {
      if (!this.upOnce || this.lost || closed()) return;
      this.lost = true;
      this.tell('lost');
    });
    connection.on('ready', () => {
      if (!this.upOnce) {
        this.upOnce = true;
        return;
      }
      if (!this.lost) return;
      // A failed PING means the connection dropped again; its next 'ready' tries again.
      connection.ping().then(
        () => {
          if (!this.lost || closed()) return;
          this.lost = false;
          this.tell('resumed');
        },
        () => undefined,
      );
    });
  }

  private tell(gap: KvDeliveryGap): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(gap);
      } catch (error) {
        this.onError(error, 'handler');
      }
    }
  }
}

/** QUIT lets queued replies arrive; a connection that is not up has nothing to flush, so just drop it. */
async function shutDown(connection: RedisClient): Promise<void> {
  if (connection.status === 'end') return;
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  try {
    await connection.quit();
  } catch {
    connection.disconnect();
  }
}
