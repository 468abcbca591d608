import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HubError } from '../errors/index.js';
import { openRedisConnection, type RedisClient, type RedisTopology } from '../kv/index.js';
import {
  rateLimitStoreClass,
  type BudgetTag,
  type RateLimitStore,
  type SharedCounts,
} from './rate-limit-store.js';

/**
 * Requests allowed per minute on each limited kind of route. A route whose caller is authenticated
 * when the limit is checked counts per user; any other per client address.
 */
export interface RateLimitSettings {
  /**
   * `POST /api/mcp/:serverName/tools/:toolName/call` and each `tools/call` sent to `/mcp` or
   * `/mcp/servers/:serverName` (one budget for both), per user.
   */
  toolCalls: number;
  /** `POST /api/mcp/:serverName/reinitialize`, per user. */
  reinitialize: number;
  /** `POST /api/mcp/servers`, per user. */
  serverCreation: number;
  /** `GET /api/mcp/:serverName/oauth/initiate` (per user) and the browser link `GET /api/mcp/oauth/link/:ticket` (per address). */
  oauthInitiate: number;
  /** The OAuth callbacks `GET /api/mcp/oauth/callback` and `GET /api/mcp/:serverName/oauth/callback`, per address. */
  oauthCallback: number;
}

/** Limits no person using the hub by hand or through a chat client comes near. */
export const DEFAULT_RATE_LIMITS: Readonly<RateLimitSettings> = {
  toolCalls: 600,
  reinitialize: 30,
  serverCreation: 20,
  oauthInitiate: 30,
  oauthCallback: 60,
};

/** Every limit counts over one minute. */
const WINDOW_MS = 60_000;
/** A count Redis has not answered by then is made in memory instead. */
const REDIS_COMMAND_TIMEOUT_MS = 1_000;
/** How long start-up waits for the counter connection before serving (counts fall back meanwhile). */
const REDIS_READY_WAIT_MS = 2_000;
/** At most one warning per this long while Redis cannot count. */
const WARN_INTERVAL_MS = 10_000;

/** What {@link installRateLimits} needs: the limits, and Redis when counts are shared. */
export interface RateLimitConfig {
  limits: RateLimitSettings;
  /** The hub's Redis: counts are shared by every instance using it. Absent: counts stay in memory. */
  redis?: SharedRedis | undefined;
}

/**
 * Where shared counts go: the KV's Redis, under the KV's own namespace (`keyPrefix`, default
 * `sb:`), as `<prefix>rl:<kind>:<user or address>` (a kind of {@link RateLimitSettings}; a route
 * with a limit of its own: `<prefix>rl:<method><route>:…`). One key per count, so a Cluster needs
 * no hash tags.
 */
export interface SharedRedis {
  topology: RedisTopology;
  keyPrefix: string;
}

/** The KV's default namespace, for callers that set none. */
const DEFAULT_KEY_PREFIX = 'sb:';

/** A partial set of limits, as the YAML or a caller gives them (unset keys may be `undefined`). */
export type PartialRateLimits = { readonly [K in keyof RateLimitSettings]?: number | undefined };

/**
 * The limits in force: the file's, else the caller's defaults, else {@link DEFAULT_RATE_LIMITS};
 * counts are shared through Redis when one is given, under `keyPrefix` (the KV's namespace).
 */
export function resolveRateLimits(sources: {
  file?: PartialRateLimits | undefined;
  defaults?: PartialRateLimits | undefined;
  redis?: RedisTopology | undefined;
  keyPrefix?: string | undefined;
}): RateLimitConfig {
  const limits = { ...DEFAULT_RATE_LIMITS };
  for (const key of Object.keys(limits) as Array<keyof RateLimitSettings>) {
    limits[key] = sources.file?.[key] ?? sources.defaults?.[key] ?? limits[key];
  }
  return {
    limits,
    redis:
      sources.redis === undefined
        ? undefined
        : { topology: sources.redis, keyPrefix: sources.keyPrefix ?? DEFAULT_KEY_PREFIX },
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The configured limits, read by each route's `config.rateLimit` (see {@link routeRateLimit}). */
    rateLimitSettings: Readonly<RateLimitSettings>;
    /** Spends a kind of limit outside a route's own hook (see {@link RateLimitBudgets}). */
    rateLimitBudgets: RateLimitBudgets;
  }
}

/**
 * Spends the same counters as the routes limited by {@link routeRateLimit}, for requests that are
 * not one route each: the `tools/call` messages in a POST to the MCP endpoints.
 */
export interface RateLimitBudgets {
  /**
   * Counts `amount` requests of `kind` for a signed-in user. Undefined while within the limit; past
   * it, the HUB_ERR_RATE_LIMITED a limited route answers with (its details hold the `limit` and
   * `retryAfter`, in seconds).
   */
  spend(kind: keyof RateLimitSettings, userId: string, amount: number): Promise<HubError | undefined>;
}

/**
 * A route's `config.rateLimit` for one kind of limit. The number is read from the app at each
 * request, so route plugins need no option for it. Every route of one kind spends one budget (its
 * counter is named by the kind), which {@link RateLimitBudgets} spends too. The plugin's hook is
 * added at the route, so it runs after the scope's `onRequest` hooks: where `requireIdentity` ran,
 * the count is per user.
 */
export function routeRateLimit(kind: keyof RateLimitSettings): RateLimitOptions {
  // The plugin hands the route's options, this tag included, to the store (rate-limit-store.ts).
  const options: RateLimitOptions & BudgetTag = {
    max: (request) => request.server.rateLimitSettings[kind],
    timeWindow: WINDOW_MS,
    budget: kind,
  };
  return options;
}

/** The counter key of a signed-in user. */
function userRateLimitKey(userId: string): string {
  return `user:${userId}`;
}

/** The counter key: the authenticated user when there is one, else the client address (TRUST_PROXY-aware). */
export function rateLimitKey(request: FastifyRequest): string {
  return request.identity ? userRateLimitKey(request.identity.userId) : `ip:${request.ip}`;
}

/** The 429: the stable code, the limit, and when to try again (also in `Retry-After`, RFC 6585 §4). */
function limitReached(_request: unknown, context: { max: number; ttl: number }): HubError {
  const retryAfter = Math.max(1, Math.ceil(context.ttl / 1000));
  return new HubError('HUB_ERR_RATE_LIMITED', {
    message: `Too many requests: at most ${context.max} a minute here; retry in ${retryAfter} s`,
    details: { limit: context.max, retryAfter },
  });
}

/**
 * Registers `@fastify/rate-limit` for routes that ask for a limit (none is global): counts in Redis
 * when configured, so limits do not multiply with instances, and in memory otherwise or while
 * Redis is away. Counter keys expire with their window. The Redis connection closes with the app.
 */
export async function installRateLimits(app: FastifyInstance, config: RateLimitConfig): Promise<void> {
  const limits = Object.freeze({ ...config.limits });
  app.decorate('rateLimitSettings', limits);
  const shared = config.redis ? await openSharedCounts(app, config.redis) : undefined;
  const Store = rateLimitStoreClass(shared);
  app.decorate('rateLimitBudgets', budgetsOf(new Store(), limits));
  await app.register(rateLimit, {
    global: false,
    timeWindow: WINDOW_MS,
    keyGenerator: rateLimitKey,
    errorResponseBuilder: limitReached,
    store: Store,
  });
}

/** Spends budgets in the counters of `root`, the plugin's own store class (same memory, same Redis keys). */
function budgetsOf(root: RateLimitStore, limits: RateLimitSettings): RateLimitBudgets {
  return {
    async spend(kind, userId, amount) {
      const budget: BudgetTag = { budget: kind };
      const count = await root.child(budget).count(userRateLimitKey(userId), WINDOW_MS, amount);
      const max = limits[kind];
      return count.current > max ? limitReached(undefined, { max, ttl: count.ttl }) : undefined;
    },
  };
}

/**
 * Opens the counters' own Redis connection, from the KV's connection factory (so Sentinel and
 * Cluster work here too). It has no offline queue, so while Redis is away a count fails at once and
 * is made in memory; ioredis keeps reconnecting behind it. Waits briefly for the first connection
 * so the first requests are already counted in Redis.
 */
async function openSharedCounts(app: FastifyInstance, redis: SharedRedis): Promise<SharedCounts> {
  const connection = openRedisConnection(redis.topology, {
    offlineQueue: false,
    commandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
  });
  let lastWarning = -Infinity;
  const warn = (error: unknown): void => {
    const now = Date.now();
    if (now - lastWarning < WARN_INTERVAL_MS) return;
    lastWarning = now;
    const message = error instanceof Error ? error.message : String(error);
    app.log.warn(
      { cause: message },
      'rate limits: Redis cannot count; counting in this instance until it is back',
    );
  };
  // Without a listener an 'error' event would be thrown and take the process down.
  connection.on('error', warn);
  app.addHook('onClose', async () => {
    connection.disconnect();
  });
  await firstConnection(connection);
  return { redis: connection, keyPrefix: `${redis.keyPrefix}rl:`, onFallback: warn };
}

/** Resolves once the connection is ready, fails to connect, or a short wait ends, whichever is first. */
async function firstConnection(connection: RedisClient): Promise<void> {
  if (connection.status === 'ready') return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      connection.off('ready', done);
      connection.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, REDIS_READY_WAIT_MS);
    connection.once('ready', done);
    connection.once('error', done);
  });
}
