import type { IdentityService } from '../auth/index.js';
import type { HubConfig } from '../config/index.js';
import { systemRandom, type Clock } from '../core/index.js';
import { oauthCallbackUrl } from '../http/index.js';
import type { Kv } from '../kv/index.js';
import type { FetchLike } from '../net/index.js';
import { createOAuthService, type OAuthService } from '../oauth/index.js';
import type { Logger } from '../observability/index.js';
import type { ServerRegistry } from '../registry/index.js';
import type { Repositories } from '../store/index.js';
import {
  createAuthorizationStarter,
  createReconnector,
  createUpstreamService,
  LearnedOAuth,
  type AuthorizationStarter,
  type Reconnector,
  type UpstreamService,
} from '../upstreams/index.js';
import type { Cleanups } from './cleanups.js';
import { MCP_EGRESS_LIMITS, type ConnectionParts } from './connection-wiring.js';
import type { LateHooks } from './late-hooks.js';

/** Metadata, registration, token and revocation answers are small: capped tightly (SS-16). */
const OAUTH_LIMITS = { maxResponseBytes: 256 * 1024, timeoutMs: 10_000 };

/** OAuth to upstreams, connecting callers to servers, and bringing connections back. */
export interface UpstreamParts {
  oauth: OAuthService;
  /** The admin's egress path for OAuth and identity-provider requests. */
  adminOAuthFetch: FetchLike;
  upstreams: UpstreamService;
  authorization: AuthorizationStarter;
  reconnector: Reconnector;
}

/** Builds the OAuth service, the upstream service and the reconnector, and sets their hooks. */
export function buildUpstreams(
  deps: {
    config: HubConfig;
    repos: Repositories;
    kv: Kv;
    connections: ConnectionParts;
    identity: IdentityService;
    registry: ServerRegistry;
    clock: Clock;
    logger: Logger;
  },
  hooks: LateHooks,
  cleanups: Cleanups,
): UpstreamParts {
  const { config, kv, clock, logger, connections } = deps;
  const { env } = config;
  const adminOAuthFetch = connections.egress.withLimits(OAUTH_LIMITS);
  const userOAuthFetch = connections.userEgress.withLimits(OAUTH_LIMITS);
  const yamlNames = new Set(Object.keys(config.mcpServers));
  const oauth = createOAuthService({
    kv,
    credentials: deps.repos.credentials,
    keyring: connections.keyring,
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
    secret: connections.oauthSecret,
    clientMetadataUrl: env.oauthClientMetadataUrl,
    tokenCache: connections.credentialCaches.feed.cache(),
  });
  hooks.cancelFlow = (flowId) => oauth.cancel(flowId);
  connections.credentialCaches.start();
  cleanups.push(() => connections.credentialCaches.stop());
  // What one instance learns of a server's OAuth need reaches the others; a deletion forgets it everywhere.
  const learnedOAuth = new LearnedOAuth({ kv, logger });
  cleanups.push(() => learnedOAuth.stop());
  learnedOAuth
    .start()
    .catch((err: unknown) => logger.warn({ err }, 'cannot hear servers learned by other instances'));
  const upstreams = createUpstreamService({
    learnedOAuth,
    pool: connections.pool,
    userVars: connections.userVars,
    tools: connections.tools,
    settings: config.mcpSettings,
    oauth,
    userServerFetch: connections.userEgress.withLimits(MCP_EGRESS_LIMITS),
    proxiedFetch: (proxyUrl) => connections.egress.viaProxy(proxyUrl, MCP_EGRESS_LIMITS),
    clock,
  });
  const authorization = createAuthorizationStarter({
    oauth,
    upstreams,
    kv,
    random: systemRandom,
    publicUrl: env.publicUrl,
  });
  const reconnector = createReconnector({
    registry: deps.registry,
    upstreams,
    identity: deps.identity,
    logger,
    clock,
  });
  hooks.onAuthenticated = (who) => reconnector.noticed(who);
  hooks.reopen = (serverName, userId, profile) => reconnector.reopen(userId, serverName, profile);
  cleanups.push(async () => reconnector.stop());
  return { oauth, adminOAuthFetch, upstreams, authorization, reconnector };
}
