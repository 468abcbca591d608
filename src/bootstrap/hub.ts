import type { FastifyInstance } from 'fastify';
import type { AccountsService } from '../accounts/index.js';
import type { IdentityService } from '../auth/index.js';
import type { HubConfig } from '../config/index.js';
import type { ConnectionPool } from '../connections/index.js';
import { systemClock, type Clock } from '../core/index.js';
import { describeRedisTopology, type Kv } from '../kv/index.js';
import type { FetchLike } from '../net/index.js';
import { createLogger, createMetrics, type Logger } from '../observability/index.js';
import type { PartialRateLimits } from '../http/rate-limits.js';
import type { ServersFeature } from '../servers/index.js';
import type { BrowserSessions } from '../sessions/index.js';
import type { Repositories } from '../store/index.js';
import type { ToolCache } from '../tools/index.js';
import { connectAtStartup, type AuthorizationStarter, type StartupConnector } from '../upstreams/index.js';
import { buildAccounts } from './accounts-wiring.js';
import { buildHubApp } from './app-wiring.js';
import { Cleanups } from './cleanups.js';
import { countConnections } from './connection-metrics.js';
import { buildConnections } from './connection-wiring.js';
import { openFoundation } from './foundation.js';
import { drainAndClose } from './http-drain.js';
import { buildIdentity } from './identity-wiring.js';
import { LateHooks } from './late-hooks.js';
import { buildServers } from './servers-wiring.js';
import { watchToolChanges } from './tool-refresh.js';
import { buildUpstreams } from './upstream-wiring.js';

/** Everything a running hub holds; `close()` releases it in reverse order of creation. */
export interface Hub {
  app: FastifyInstance;
  config: HubConfig;
  logger: Logger;
  repos: Repositories;
  kv: Kv;
  identity: IdentityService;
  /** Role, disabled state, password and removal of accounts (CLI and admin API). */
  accounts: AccountsService;
  /** Signed-in browsers (cookie sessions stored in the database). */
  sessions: BrowserSessions;
  pool: ConnectionPool;
  tools: ToolCache;
  servers: ServersFeature;
  /** The start-up connection pass over app-level servers (tests await its `firstPass`). */
  startup: StartupConnector;
  /** Starts OAuth flows and mints their browser sign-in links (tests drive flows through it). */
  authorization: AuthorizationStarter;
  close(): Promise<void>;
}

/** Options for {@link createHub}; tests inject a clock and a log destination. */
export interface CreateHubOptions {
  clock?: Clock;
  logger?: Logger;
  /** Skip default process metrics (tests build many hubs in one process). */
  defaultMetrics?: boolean;
  /** Login attempts per client address per minute (default 10). */
  loginAttemptsPerMinute?: number;
  /** Rate limits for the keys `mcpSettings.rateLimits` leaves unset (tests that hammer routes raise them). */
  rateLimitDefaults?: PartialRateLimits;
  /** The environment stdio children may take PATH and HOME from; default `process.env`. */
  hostEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * The fetch of the hub's authorization server (client metadata documents); default: the users'
   * egress guard with a 5 s timeout. Tests pass a guard that trusts a test certificate.
   */
  authorizationServerFetch?: FetchLike;
}

/**
 * Creates the services from the config and wires them into the app: the one place that builds
 * real dependencies. Used by `switchboard serve` and by integration tests. Each stage builds one
 * group of parts (see the `*-wiring.ts` files); `LateHooks` carries the calls from parts built
 * early into parts built later.
 */
export async function createHub(config: HubConfig, options: CreateHubOptions = {}): Promise<Hub> {
  const clock = options.clock ?? systemClock;
  const { env } = config;
  const logger = options.logger ?? createLogger({ level: env.logLevel });
  const cleanups = new Cleanups(logger);
  const close = () => cleanups.run();
  try {
    const hooks = new LateHooks();
    const { secrets, database, repos, kv } = await openFoundation(config, { clock, logger }, cleanups);
    const { identity, accountChanges } = buildIdentity(
      { config, secrets, repos, database, clock, logger },
      hooks,
    );
    const connections = buildConnections(
      { config, secrets, repos, kv, clock, logger, hostEnv: options.hostEnv ?? process.env },
      cleanups,
    );
    const { pool, tools } = connections;
    const servers = buildServers({ config, repos, kv, connections, clock, logger }, hooks, cleanups);
    const registry = servers.registry;
    const metrics = createMetrics({ defaultMetrics: options.defaultMetrics ?? true });
    const stopWatching = watchToolChanges({ pool, tools, logger });
    const stopCounting = countConnections(pool, metrics, (name) => Object.hasOwn(config.mcpServers, name));
    cleanups.push(async () => {
      stopWatching();
      stopCounting();
    });
    const upstreamParts = buildUpstreams(
      { config, repos, kv, connections, identity, registry, clock, logger },
      hooks,
      cleanups,
    );
    const { upstreams, authorization } = upstreamParts;
    const { signIn, accounts, sso } = await buildAccounts(
      {
        config,
        options,
        secrets,
        repos,
        kv,
        identity,
        accountChanges,
        connections,
        servers,
        upstreams: upstreamParts,
        clock,
        logger,
      },
      hooks,
      cleanups,
    );

    const app = await buildHubApp({
      config,
      options,
      secrets,
      database,
      repos,
      kv,
      clock,
      logger,
      metrics,
      identity,
      accounts,
      signIn,
      sso,
      servers,
      connections,
      upstreams: upstreamParts,
    });
    // Shutdown: the GET streams end, requests drain, then the pool closes under what still runs.
    cleanups.push(() => drainAndClose(app, { abort: () => pool.close(), logger }));

    const startup = connectAtStartup({
      servers: registry.yamlServers(),
      upstreams,
      concurrency: config.mcpSettings.startupConcurrency,
      logger,
    });
    cleanups.push(async () => startup.stop());

    logger.info(
      {
        database: database.dialect,
        kv: env.redis ? 'redis' : 'memory',
        ...(env.redis ? { redis: describeRedisTopology(env.redis), namespace: env.redisKeyPrefix } : {}),
        servers: Object.keys(config.mcpServers).length,
      },
      'hub ready',
    );
    return {
      app,
      config,
      logger,
      repos,
      kv,
      identity,
      accounts,
      sessions: signIn.sessions,
      pool,
      tools,
      servers,
      startup,
      authorization,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
