import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { HubError } from '../errors/index.js';
import { rateLimitStoreClass, type SharedCounts } from './rate-limit-store.js';

/**
 * Requests allowed per minute on each limited kind of route. A route whose caller is authenticated
 * when the limit is checked counts per user; any other per client address.
 */
export interface RateLimitSettings {
  /** `POST /api/mcp/:serverName/tools/:toolName/call`, per user. */
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
  redis?: { url: string; keyPrefix: string } | undefined;
}

/** Counter keys sit under the KV's own prefix (`sb:`), as `sb:rl:<method><route>:<user or address>`. */
const REDIS_KEY_PREFIX = 'sb:';

/** A partial set of limits, as the YAML or a caller gives them (unset keys may be `undefined`). */
export type PartialRateLimits = { readonly [K in keyof RateLimitSettings]?: number | undefined };

/**
 * The limits in force: the file's, else the caller's defaults, else {@link DEFAULT_RATE_LIMITS};
 * counts are shared through Redis when a URL is given.
 */
export function resolveRateLimits(sources: {
  file?: PartialRateLimits | undefined;
  defaults?: PartialRateLimits | undefined;
  redisUrl?: string | undefined;
}): RateLimitConfig {
  const limits = { ...DEFAULT_RATE_LIMITS };
  for (const key of Object.keys(limits) as Array<keyof RateLimitSettings>) {
    limits[key] = sources.file?.[key] ?? sources.defaults?.[key] ?? limits[key];
  }
  return {
    limits,
    redis:
      sources.redisUrl === undefined ? undefined : { url: sources.redisUrl, keyPrefix: REDIS_KEY_PREFIX },
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The configured limits, read by each route's `config.rateLimit` (see {@link routeRateLimit}). */
    rateLimitSettings: Readonly<RateLimitSettings>;
  }
}

/**
 * A route's `config.rateLimit` for one kind of limit. The number is read from the app at each
 * request, so route plugins need no option for it. The plugin's hook is added at the route, so it
 * runs after the scope's `onRequest` hooks: where `requireIdentity` ran, the count is per user.
 */
export function routeRateLimit(kind: keyof RateLimitSettings): RateLimitOptions {
  return { max: (request) => request.server.rateLimitSettings[kind], timeWindow: WINDOW_MS };
}

/** The counter key: the authenticated user when there is one, else the client address (TRUST_PROXY-aware). */
export function rateLimitKey(request: FastifyRequest): string {
  return request.identity ? `user:${request.identity.userId}` : `ip:${request.ip}`;
}

/** The 429: the stable code, the limit, and when to try again (also in `Retry-After`, RFC 6585 §4). */
function limitReached(_request: FastifyRequest, context: { max: number; ttl: number }): HubError {
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
  app.decorate('rateLimitSettings', Object.freeze({ ...config.limits }));
  const shared = config.redis ? await openSharedCounts(app, config.redis) : undefined;
  await app.register(rateLimit, {
    global: false,
    timeWindow: WINDOW_MS,
    keyGenerator: rateLimitKey,
    errorResponseBuilder: limitReached,
    store: rateLimitStoreClass(shared),
  });
}

/**
 * Opens the counters' own Redis connection. It has no offline queue, so while Redis is away a count
 * fails at once and is made in memory; ioredis keeps reconnecting behind it. Waits briefly for the
 * first connection so the first requests are already counted in Redis.
 */
async function openSharedCounts(
  app: FastifyInstance,
  redis: { url: string; keyPrefix: string },
): Promise<SharedCounts> {
  const connection = new Redis(redis.url, {
    enableOfflineQueue: false,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
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
async function firstConnection(connection: Redis): Promise<void> {
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
