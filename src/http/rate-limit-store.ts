import type { RedisClient } from '../kv/index.js';

/** One count as `@fastify/rate-limit` reads it: requests so far in the window, and ms until it ends. */
export interface WindowCount {
  current: number;
  ttl: number;
}

/** Called with each count, or the error that stopped it (the plugin's callback convention). */
type CountCallback = (error: Error | null, result?: WindowCount) => void;

/**
 * Marks a route's rate-limit options as spending a named budget: every route with the same name,
 * and every other spender of it (see {@link RateLimitStore.count}), counts against one counter.
 */
export interface BudgetTag {
  budget: string;
}

/**
 * What a child store counts for: the named budget the route's options carry, else the route's
 * method and path. The plugin passes the route's merged options with the route under `routeInfo`
 * (empty for `app.rateLimit`); its types name only the route options.
 */
function counterOf(options: object): string {
  const budget: unknown = 'budget' in options ? options.budget : undefined;
  return typeof budget === 'string' ? budget : routeOf(options);
}

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

  /** Counts `amount` requests (one by default) under `key` in a window of `windowMs`. */
  increment(key: string, windowMs: number, now = Date.now(), amount = 1): WindowCount {
    let window = this.windows.get(key);
    if (window === undefined || window.endsAt <= now) {
      this.windows.delete(key);
      if (this.windows.size >= MEMORY_KEYS_CAP) this.evict(now);
      window = { count: 0, endsAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += amount;
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
 * One {@link MemoryCounter} per counter prefix (route or budget), each bounded on its own: a flood
 * of addresses on one route cannot push another route's windows out.
 */
export class MemoryCounters {
  private readonly byPrefix = new Map<string, MemoryCounter>();

  /** The counter of one prefix, made on first use (prefixes are fixed by the routes, so few). */
  of(prefix: string): MemoryCounter {
    let counter = this.byPrefix.get(prefix);
    if (counter === undefined) {
      counter = new MemoryCounter();
      this.byPrefix.set(prefix, counter);
    }
    return counter;
  }
}

/**
 * Counts `ARGV[2]` requests in a fixed window of `ARGV[1]` ms and returns `{count, ms left}`. The
 * expiry is set when the window's first requests are counted and repaired if ever missing, so no
 * counter key outlives its window.
 */
const COUNT_SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

/** Where the shared counts live, and who hears that Redis could not count. */
export interface SharedCounts {
  /** A connection without an offline queue: while Redis is away a count fails at once. */
  redis: RedisClient;
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
  private readonly memory: MemoryCounter;

  /**
   * @param counters where counts go without Redis, shared by a store and all its children, so two
   *   stores of one budget see the same counts.
   */
  constructor(
    private readonly shared: SharedCounts | undefined,
    private readonly keyPrefix: string,
    private readonly counters = new MemoryCounters(),
  ) {
    this.memory = counters.of(keyPrefix);
  }

  /** The plugin's counting call: `timeWindow` is the route's window in ms. */
  incr(key: string, callback: CountCallback, timeWindow = 60_000): void {
    if (this.shared === undefined) {
      callback(null, this.memory.increment(`${this.keyPrefix}${key}`, timeWindow));
      return;
    }
    void this.count(key, timeWindow).then((count) => callback(null, count));
  }

  /** Counts `amount` requests under `key` (several at once: a batch of calls) and returns the count. */
  async count(key: string, windowMs: number, amount = 1): Promise<WindowCount> {
    const fullKey = `${this.keyPrefix}${key}`;
    if (this.shared === undefined) return this.memory.increment(fullKey, windowMs, Date.now(), amount);
    try {
      const reply = await this.shared.redis.eval(COUNT_SCRIPT, 1, fullKey, String(windowMs), String(amount));
      return parseCount(reply);
    } catch (error) {
      // Redis cannot answer: count here instead, and say so.
      this.shared.onFallback(error);
      return this.memory.increment(fullKey, windowMs, Date.now(), amount);
    }
  }

  /** The store of one route: its counts are kept apart by its budget's name, else by method and path. */
  child(options: object): RateLimitStore {
    return new RateLimitStore(this.shared, `${this.keyPrefix}${counterOf(options)}:`, this.counters);
  }
}

/** Reads the script's `{count, ttl}` reply. */
function parseCount(reply: unknown): WindowCount {
  if (!Array.isArray(reply) || reply.length !== 2) throw new Error('unexpected rate-limit counter reply');
  return { current: Number(reply[0]), ttl: Number(reply[1]) };
}

/**
 * The store class for the plugin: shared through Redis when given, in memory otherwise. Every
 * instance of it counts in the same memory, so a store made outside the plugin (for a budget spent
 * outside a route's own limit) sees the plugin's counts.
 */
export function rateLimitStoreClass(shared: SharedCounts | undefined): RateLimitStoreClass {
  const rootPrefix = shared?.keyPrefix ?? '';
  const counters = new MemoryCounters();
  return class extends RateLimitStore {
    constructor() {
      super(shared, rootPrefix, counters);
    }
  };
}
