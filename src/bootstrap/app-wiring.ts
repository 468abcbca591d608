import type { FastifyInstance } from 'fastify';
import type { AccountsService } from '../accounts/index.js';
import { buildApp } from '../app.js';
import type { IdentityService } from '../auth/index.js';
import type { HubConfig } from '../config/index.js';
import { systemRandom, type Clock } from '../core/index.js';
import { createOAuthCookies } from '../http/index.js';
import { resolveRateLimits, type PartialRateLimits } from '../http/rate-limits.js';
import type { Kv } from '../kv/index.js';
import type { Logger, Metrics } from '../observability/index.js';
import type { ServersFeature } from '../servers/index.js';
import type { Repositories, StoreDatabase } from '../store/index.js';
import { createServerHealthService } from '../upstreams/index.js';
import type { ConnectionParts } from './connection-wiring.js';
import type { HubSecrets } from './secrets.js';
import type { SignIn } from './sign-in-wiring.js';
import type { createSsoRouteOptions } from './sso-wiring.js';
import type { UpstreamParts } from './upstream-wiring.js';

/** Every part the HTTP app serves from. */
export interface HubAppParts {
  config: HubConfig;
  options: { loginAttemptsPerMinute?: number; rateLimitDefaults?: PartialRateLimits };
  secrets: HubSecrets;
  database: StoreDatabase;
  repos: Repositories;
  kv: Kv;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  identity: IdentityService;
  accounts: AccountsService;
  signIn: SignIn;
  sso: ReturnType<typeof createSsoRouteOptions>;
  servers: ServersFeature;
  connections: ConnectionParts;
  upstreams: UpstreamParts;
}

/** The Fastify app with every route: REST, the web page's sign-in, OAuth callbacks and `/mcp`. */
export function buildHubApp(parts: HubAppParts): Promise<FastifyInstance> {
  const { config, repos, kv, clock, logger } = parts;
  const { env } = config;
  const registry = parts.servers.registry;
  const { upstreams, oauth, authorization, reconnector } = parts.upstreams;
  const { userVars, tools, pool } = parts.connections;
  return buildApp({
    logger,
    metrics: parts.metrics,
    identity: parts.identity,
    sessions: parts.signIn.sessions,
    sso: parts.sso,
    ssoProviders: config.sso.map(({ id, name }) => ({ id, name })),
    authorizationServer: parts.signIn.authorizationServer.routes,
    roles: config.roles,
    accounts: parts.accounts,
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
        secret: parts.connections.oauthSecret,
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
      servers: parts.servers.servers,
      sharing: parts.servers.sharing,
      audit: parts.servers.audit,
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
      hubTokens: parts.signIn.authorizationServer,
      kv,
    },
    readiness: [
      { name: 'database', check: () => parts.database.ping() },
      { name: 'kv', check: () => kv.ping() },
    ],
    settings: {
      bodyLimit: env.bodyLimit,
      trustProxy: env.trustProxy,
      httpLimits: env.httpLimits,
      cookieSecret: parts.secrets.jwtSecret,
      loginAttemptsPerMinute:
        parts.options.loginAttemptsPerMinute ?? config.mcpSettings.rateLimits?.signIn ?? 10,
      // Shared through Redis when configured, so limits do not multiply with instances.
      rateLimits: resolveRateLimits({
        file: config.mcpSettings.rateLimits,
        defaults: parts.options.rateLimitDefaults,
        redis: env.redis,
        keyPrefix: env.redisKeyPrefix,
      }),
    },
  });
}
