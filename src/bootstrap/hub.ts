import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../app.js';
import { createOAuthCookies, oauthCallbackUrl } from '../http/index.js';
import {
  createIdentityService,
  createTokenService,
  type Identity,
  type IdentityService,
} from '../auth/index.js';
import type { HubConfig } from '../config/index.js';
import { systemClock, systemRandom, type Clock } from '../core/index.js';
import { ConnectionPool, groupTrackingSpawn } from '../connections/index.js';
import { createUserVarsStore, keyringFromCredentialsKey, parseCredentialsKey } from '../credentials/index.js';
import { HubError } from '../errors/index.js';
import { createKv, describeRedisTopology, type Kv } from '../kv/index.js';
import { createAccountsService, type AccountsService } from '../accounts/index.js';
import {
  CATALOG_CHANNEL,
  createServerInspector,
  createServersFeature,
  type Reopen,
  type ServersFeature,
} from '../servers/index.js';
import { createToolCache, type ToolCache } from '../tools/index.js';
import {
  connectAtStartup,
  createAuthorizationStarter,
  createReconnector,
  createServerHealthService,
  createUpstreamService,
  LearnedOAuth,
  type AuthorizationStarter,
  type StartupConnector,
} from '../upstreams/index.js';
import { createOAuthService } from '../oauth/index.js';
import { createHmac } from 'node:crypto';
import { AccountChangeFeed, revokeOnRemoval } from './account-wiring.js';
import { CredentialCaches } from './credential-cache-wiring.js';
import { countConnections } from './connection-metrics.js';
import { createEgressGuards } from './egress-allowlist.js';
import { watchToolChanges } from './tool-refresh.js';
import { createLogger, createMetrics, type Logger } from '../observability/index.js';
import { createDatabase, createRepositories, migrateToLatest, type Repositories } from '../store/index.js';
import { ensureSecrets } from './secrets.js';
import { drainAndClose } from './http-drain.js';
import { createSsoRouteOptions } from './sso-wiring.js';
import type { FetchLike } from '../net/index.js';
import type { BrowserSessions } from '../sessions/index.js';
import { createSignIn } from './sign-in-wiring.js';
import { resolveRateLimits, type PartialRateLimits } from '../http/rate-limits.js';

/** Longest wait for an upstream's response headers (a JSON-mode server answers a long tool call late). */
const UPSTREAM_HEADERS_TIMEOUT_MS = 10 * 60_000;
/**
 * The egress limits of MCP traffic: the time cap covers connect and headers, not an SSE body, and
 * the size cap is left to the pool, which counts each message against `mcpSettings.maxResultBytes`
 * and fails only the call concerned (a body cut by the guard would drop the whole connection).
 */
const MCP_EGRESS_LIMITS = {
  streaming: true,
  timeoutMs: UPSTREAM_HEADERS_TIMEOUT_MS,
  maxResponseBytes: Number.MAX_SAFE_INTEGER,
};

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
 * real dependencies. Used by `switchboard serve` and by integration tests.
 */
export async function createHub(config: HubConfig, options: CreateHubOptions = {}): Promise<Hub> {
  const clock = options.clock ?? systemClock;
  const env = config.env;
  const logger = options.logger ?? createLogger({ level: env.logLevel });
  const cleanups: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        logger.error({ err }, 'error while shutting down');
      }
    }
    cleanups.length = 0;
  };

  try {
    const secrets = await ensureSecrets({
      jwtSecret: env.jwtSecret,
      credentialsKey: env.credentialsKey,
      dataDir: env.dataDir,
      production: env.nodeEnv === 'production',
    });
    logStartupNotices(logger, secrets.generated, env.dataDir, config.warnings);

    const database = await createDatabase({
      databaseUrl: env.databaseUrl,
      sqlitePath: path.join(env.dataDir, 'switchboard.db'),
    });
    cleanups.push(() => database.close());
    const applied = await migrateToLatest(database.db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
    const repos = createRepositories({ db: database.db, clock });

    const kv = createKv({
      redis: env.redis,
      keyPrefix: env.redisKeyPrefix,
      clock,
      onError: (err) => logger.warn({ err }, 'kv error'),
    });
    cleanups.push(() => kv.close());

    const tokens = createTokenService({
      jwtSecret: secrets.jwtSecret,
      clock,
      external: env.authJwksUrl
        ? { jwksUrl: env.authJwksUrl, issuer: env.authIssuer, audience: env.authAudience }
        : undefined,
    });
    // Without a shared KV the account is read on every request (one primary-key read), so a change
    // made by the CLI in another process applies from the next request; with one, changes are announced.
    const accountChanges = new AccountChangeFeed(env.redis !== undefined, logger);
    const baseIdentity = createIdentityService({
      tokens,
      users: repos.users,
      roles: config.roles,
      clock,
      cache: accountChanges.cacheOption(),
      emailLinkIssuers: env.authEmailLinkIssuers,
      onUserChanged: (userId) => {
        accountChanges.announceInBackground({ userId, change: 'password' });
        void endClientAuthorizations(userId);
      },
    });
    // A password change ends every MCP client's authorization at the hub's own authorization server,
    // as it ends every hub token and browser session (set once that server exists, below).
    let endClientAuthorizations: (userId: string) => Promise<void> = async () => undefined;
    // Every authenticated request tells the reconnector the user is here (set once it exists, below).
    let onAuthenticated: (who: Identity) => void = () => undefined;
    // An edit reopens its users' connections through the reconnector (set once it exists, below);
    // until then, nothing reopens and connections come back on their users' next requests.
    let reopen: Reopen = async () => undefined;
    const identity: IdentityService = {
      ...baseIdentity,
      async authenticate(token) {
        const who = await baseIdentity.authenticate(token);
        onAuthenticated(who);
        return who;
      },
    };

    // Browser-binding cookies are HMACs under a key derived from JWT_SECRET, never the secret itself.
    const oauthSecret = createHmac('sha256', secrets.jwtSecret).update('switchboard oauth cookies').digest();
    const key = parseCredentialsKey(secrets.credentialsKey);
    if (!key.ok) throw new HubError('HUB_ERR_CONFIG_INVALID', { message: key.message });
    const keyring = keyringFromCredentialsKey(key.value);
    const credentialCaches = new CredentialCaches(kv, logger);
    const userVars = createUserVarsStore({
      credentials: repos.credentials,
      keyring,
      cache: credentialCaches.feed.cache(),
    });
    const tools = createToolCache(kv, { logger });
    // Users' servers reach only what the admin allowlisted, not every host the admin's YAML names.
    const { admin: egress, users: userEgress } = createEgressGuards(config);
    cleanups.push(
      () => egress.close(),
      () => userEgress.close(),
    );
    // stdio children get only PATH, HOME and locale from this environment (never the hub's secrets).
    const pool = new ConnectionPool({
      logger,
      clock,
      hostEnv: options.hostEnv ?? process.env,
      // Each stdio child's group is known, so the process can kill what is left on any exit.
      spawn: groupTrackingSpawn(),
      maxResultBytes: config.mcpSettings.maxResultBytes,
      fetch: egress.withLimits(MCP_EGRESS_LIMITS),
      // Websocket servers come from the YAML only, so the admin guard opens their sockets.
      dialWebSocket: egress.dialWebSocket,
    });
    cleanups.push(() => pool.close());
    const serversFeature = createServersFeature({
      config,
      repos,
      keyring,
      pool,
      tools,
      clock,
      logger,
      inspect: createServerInspector({ fetch: userEgress.withLimits({ streaming: true }), logger, clock }),
      checkUrl: (url) => userEgress.checkUrl(url),
      // Moving a server cancels its pending OAuth flows; the OAuth service is built below and is
      // only called on a request, long after this function returned.
      oauthFlows: { cancel: (flowId) => oauth.cancel(flowId) },
      // Deletions, edits and unsharing close connections on every instance.
      events: kv,
      reopen: (serverName, userId, profile) => reopen(serverName, userId, profile),
      // Every instance's MCP sessions hear of it (tools/list_changed).
      onCatalogChanged: (change) => {
        kv.publish(CATALOG_CHANNEL, JSON.stringify(change)).catch((err: unknown) =>
          logger.warn({ err, server: change.serverName }, 'could not announce a catalog change'),
        );
      },
    });
    cleanups.push(() => serversFeature.stop());
    const registry = serversFeature.registry;
    const metrics = createMetrics({ defaultMetrics: options.defaultMetrics ?? true });
    const stopWatching = watchToolChanges({ pool, tools, logger });
    const stopCounting = countConnections(pool, metrics, (name) => Object.hasOwn(config.mcpServers, name));
    cleanups.push(async () => {
      stopWatching();
      stopCounting();
    });
    const oauthLimits = { maxResponseBytes: 256 * 1024, timeoutMs: 10_000 };
    const adminOAuthFetch = egress.withLimits(oauthLimits);
    const userOAuthFetch = userEgress.withLimits(oauthLimits);
    const yamlNames = new Set(Object.keys(config.mcpServers));
    const oauth = createOAuthService({
      kv,
      credentials: repos.credentials,
      keyring,
      // Metadata, registration, token and revocation answers are small: cap them tightly (SS-16).
      fetch: adminOAuthFetch,
      // A user's server (any name not in the admin's YAML) discovers and talks to its authorization
      // server through the users' egress path: its challenge must not reach the admin's internal hosts.
      fetchFor: (serverName) => (yamlNames.has(serverName) ? adminOAuthFetch : userOAuthFetch),
      clock,
      random: systemRandom,
      logger,
      // Users' servers share one callback path that names none of them (V-09): the flow tells the
      // callback which server it is for. Servers of the configuration file keep their own path.
      redirectUri: (serverName) =>
        oauthCallbackUrl(env.publicUrl, yamlNames.has(serverName) ? serverName : null),
      secret: oauthSecret,
      clientMetadataUrl: env.oauthClientMetadataUrl,
      tokenCache: credentialCaches.feed.cache(),
    });
    credentialCaches.start();
    cleanups.push(() => credentialCaches.stop());
    // What one instance learns of a server's OAuth need reaches the others; a deletion forgets it everywhere.
    const learnedOAuth = new LearnedOAuth({ kv, logger });
    cleanups.push(() => learnedOAuth.stop());
    learnedOAuth
      .start()
      .catch((err: unknown) => logger.warn({ err }, 'cannot hear servers learned by other instances'));
    const upstreams = createUpstreamService({
      learnedOAuth,
      pool,
      userVars,
      tools,
      settings: config.mcpSettings,
      oauth,
      userServerFetch: userEgress.withLimits(MCP_EGRESS_LIMITS),
      proxiedFetch: (proxyUrl) => egress.viaProxy(proxyUrl, MCP_EGRESS_LIMITS),
      clock,
    });
    const authorization = createAuthorizationStarter({
      oauth,
      upstreams,
      kv,
      random: systemRandom,
      publicUrl: env.publicUrl,
    });
    const reconnector = createReconnector({ registry, upstreams, identity, logger, clock });
    onAuthenticated = (who) => reconnector.noticed(who);
    reopen = (serverName, userId, profile) => reconnector.reopen(userId, serverName, profile);
    // Browser sessions live in the database, so any instance serves any browser.
    cleanups.push(async () => reconnector.stop());
    const signIn = await createSignIn({
      publicUrl: env.publicUrl,
      trustProxy: env.trustProxy,
      jwtSecret: secrets.jwtSecret,
      repos,
      keyring,
      identity,
      clock,
      logger,
      // A client metadata document is any URL a client names: the users' egress path, small and quick.
      clientMetadataFetch:
        options.authorizationServerFetch ??
        userEgress.withLimits({ maxResponseBytes: 16 * 1024, timeoutMs: 5_000 }),
      onAuthenticated: (who) => onAuthenticated(who),
    });
    const { sessions, authorizationServer } = signIn;
    endClientAuthorizations = (userId) => signIn.endClientAuthorizations(userId);

    const upstreamCleanup = revokeOnRemoval({ logger, repos, identity, registry, upstreams, oauth });
    // The accounts service itself ends a user's MCP client authorizations (password, disable,
    // removal), as it does from the command line.
    const accounts = createAccountsService({
      repos,
      announce: (change) => accountChanges.announce(change),
      beforeRemove: upstreamCleanup,
    });
    accountChanges.start({ kv, identity, pool, tools, registry });
    // A subscription still pending ends with the KV, closed after this.
    cleanups.push(() => accountChanges.stop());
    // Identity providers are the admin's word: reached through the admin egress path, tightly capped.
    const sso = createSsoRouteOptions({
      config,
      kv,
      keyring,
      fetch: adminOAuthFetch,
      clock,
      random: systemRandom,
      logger,
      repos,
      accounts,
      sessions,
      attemptsPerMinute: options.loginAttemptsPerMinute ?? config.mcpSettings.rateLimits?.sso ?? 30,
    });

    const app = await buildApp({
      logger,
      metrics,
      identity,
      sessions,
      sso,
      ssoProviders: config.sso.map(({ id, name }) => ({ id, name })),
      authorizationServer: authorizationServer.routes,
      roles: config.roles,
      accounts,
      serverHealth: createServerHealthService({
        registry,
        upstreams,
        userServerNames: () => repos.servers.listNames(),
        users: repos.users,
      }),
      mcp: {
        registry,
        upstreams,
        userVars,
        tools,
        oauth,
        authorization,
        cookies: createOAuthCookies({
          secret: oauthSecret,
          pathPrefix: new URL(env.publicUrl).pathname.replace(/\/+$/, ''),
          secure: env.publicUrl.startsWith('https:'),
          clock,
          random: systemRandom,
        }),
        publicUrl: env.publicUrl,
        onAuthorized: (userId, serverName) => reconnector.afterAuthorization(userId, serverName),
      },
      clientMetadata: env.oauthClientMetadataUrl
        ? {
            clientMetadataUrl: env.oauthClientMetadataUrl,
            publicUrl: env.publicUrl,
            configServerNames: () => registry.yamlServers().map((s) => s.name),
          }
        : undefined,
      servers: {
        servers: serversFeature.servers,
        sharing: serversFeature.sharing,
        audit: serversFeature.audit,
      },
      gateway: {
        registry,
        upstreams,
        tools,
        authorization,
        oauth,
        random: systemRandom,
        logger,
        pool,
        clock,
        publicUrl: env.publicUrl,
        // The hub's own authorization server first; an external issuer's JWTs are accepted too.
        authorizationServers: env.authIssuer ? [env.publicUrl, env.authIssuer] : [env.publicUrl],
        hubTokens: authorizationServer,
        kv,
      },
      readiness: [
        { name: 'database', check: () => database.ping() },
        { name: 'kv', check: () => kv.ping() },
      ],
      settings: {
        bodyLimit: env.bodyLimit,
        trustProxy: env.trustProxy,
        httpLimits: env.httpLimits,
        cookieSecret: secrets.jwtSecret,
        loginAttemptsPerMinute: options.loginAttemptsPerMinute ?? config.mcpSettings.rateLimits?.signIn ?? 10,
        // Shared through Redis when configured, so limits do not multiply with instances.
        rateLimits: resolveRateLimits({
          file: config.mcpSettings.rateLimits,
          defaults: options.rateLimitDefaults,
          redis: env.redis,
          keyPrefix: env.redisKeyPrefix,
        }),
      },
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
      sessions,
      pool,
      tools,
      servers: serversFeature,
      startup,
      authorization,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** What an operator must hear once at start: secrets generated for them, config keys that do nothing. */
function logStartupNotices(
  logger: Logger,
  generated: readonly string[],
  dataDir: string,
  warnings: HubConfig['warnings'],
): void {
  for (const name of generated) {
    logger.warn({ secret: name, dir: dataDir }, `${name} was not set: generated one into the data directory`);
  }
  // Keys kept so a librechat.yaml validates unchanged, said once so nobody believes they take effect.
  for (const warning of warnings) {
    logger.warn(
      { key: warning.key, paths: warning.paths },
      `config key '${warning.key}' is accepted but not used: ${warning.reason}`,
    );
  }
}
