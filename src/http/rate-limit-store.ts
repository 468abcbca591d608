import type { Redis } from 'ioredis';

/** One count as `@fastify/rate-limit` reads it: requests so far in the window, and ms until it ends. */
export interface WindowCount {
  current: number;
  ttl: number;
}

/** Called with each count, or the error that stopped it (the plugin's callback convention). */
type CountCallback = (error: Error | null, result?: WindowCount) => void;

/**
 * The method and path a child store counts for. The plugin passes the route's merged options with
 * the route under `routeInfo` (empty for `app.rateLimit`); its types name only the route options.
 */
function routeOf(options: object): string {
  const info: unknown = 'routeInfo' in options ? options.routeInfo : undefined;
  if (typeof info !== 'object' || info === null) return '';
  const method: unknown = 'method' in info ? info.method : undefined;
  const url: unknown = 'url' in info ? info.url : undefined;
  const methods = Array.isArray(method) ? method.join(',') : typeof method === 'string' ? method : '';
  return `${methods}${typeof url === 'string' ? url : ''}`;
}

/** Above this many keys, a memory counter drops expired windows, then the oldest ones. */
const MEMORY_KEYS_CAP = 10_000;

/**
 * Fixed-window counts in this process: used without Redis, and while Redis is away. Bounded, so
 * a flood of distinct addresses cannot grow it without end.
 */
export class MemoryCounter {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();

  /** Counts one request under `key` in a window of `windowMs`. */
  increment(key: string, windowMs: number, now = Date.now()): WindowCount {
    let window = this.windows.get(key);
    if (window === undefined || window.endsAt <= now) {
      this.windows.delete(key);
      if (this.windows.size >= MEMORY_KEYS_CAP) this.evict(now);
      window = { count: 0, endsAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { current: window.count, ttl: window.endsAt - now };
  }

  /** Drops ended windows; when none ended, the oldest (Map order is insertion order). */
  private evict(now: number): void {
    for (const [key, window] of this.windows) {
      if (window.endsAt <= now) this.windows.delete(key);
    }
    const oldest = this.windows.keys().next();
    if (this.windows.size >= MEMORY_KEYS_CAP && oldest.done !== true) this.windows.delete(oldest.value);
  }
}

/**
 * Counts one request in a fixed window and returns `{count, ms left}`. The expiry is set on the first
 * request and repaired if ever missing, so no counter key outlives its window.
 */
const COUNT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

/** Where the shared counts live, and who hears that Redis could not count. */
export interface SharedCounts {
  /** A connection without an offline queue: while Redis is away a count fails at once. */
  redis: Redis;
  /** Prepended to every counter key, e.g. `sb:rl:`. */
  keyPrefix: string;
  /** Told each time a count fell back to memory (the caller throttles its warnings). */
  onFallback: (error: unknown) => void;
}

/** The constructor `@fastify/rate-limit` takes as its `store` option. */
export type RateLimitStoreClass = new () => RateLimitStore;

/**
 * A store for `@fastify/rate-limit` that counts in Redis, so every instance shares the same
 * counts, and in this process's memory while Redis cannot answer: a Redis outage neither
 * fails requests nor lifts the limits, it only makes them per instance until Redis is back.
 */
export class RateLimitStore {
  private readonly memory = new MemoryCounter();

  constructor(
    private readonly shared: SharedCounts | undefined,
    private readonly keyPrefix: string,
  ) {}

  /** The plugin's counting call: `timeWindow` is the route's window in ms. */
  incr(key: string, callback: CountCallback, timeWindow = 60_000): void {
    const fullKey = `${this.keyPrefix}${key}`;
    if (this.shared === undefined) {
      callback(null, this.memory.increment(fullKey, timeWindow));
      return;
    }
    void this.countShared(this.shared, fullKey, timeWindow).then((count) => callback(null, count));
  }

  /** Counts in Redis; when Redis cannot answer, counts in memory instead and says so. */
  private async countShared(shared: SharedCounts, key: string, windowMs: number): Promise<WindowCount> {
    try {
      return parseCount(await shared.redis.eval(COUNT_SCRIPT, 1, key, String(windowMs)));
    } catch (error) {
      shared.onFallback(error);
      return this.memory.increment(key, windowMs);
    }
  }

  /** The store of one route: its counts are kept apart by method and path. */
  child(options: object): RateLimitStore {
    return new RateLimitStore(this.shared, `${this.keyPrefix}${routeOf(options)}:`);
  }
}

/** Reads the script's `{count, ttl}` reply. */
function parseCount(reply: unknown): WindowCount {
  if (!Array.isArray(reply) || reply.length !== 2) throw new Error('unexpected rate-limit counter reply');
  return { current: Number(reply[0]), ttl: Number(reply[1]) };
}

/** The store class for the plugin: shared through Redis when given, in memory otherwise. */
export function rateLimitStoreClass(shared: SharedCounts | undefined): RateLimitStoreClass {
  const rootPrefix = shared?.keyPrefix ?? '';
  return class extends RateLimitStore {
    constructor() {
      super(shared, rootPrefix);
    }
  };
}
