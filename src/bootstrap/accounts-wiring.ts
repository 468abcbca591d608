import { createAccountsService, type AccountsService } from '../accounts/index.js';
import type { IdentityService } from '../auth/index.js';
import type { HubConfig } from '../config/index.js';
import { systemRandom, type Clock } from '../core/index.js';
import type { Kv } from '../kv/index.js';
import type { FetchLike } from '../net/index.js';
import type { Logger } from '../observability/index.js';
import type { ServersFeature } from '../servers/index.js';
import type { Repositories } from '../store/index.js';
import { revokeOnRemoval, type AccountChangeFeed } from './account-wiring.js';
import type { Cleanups } from './cleanups.js';
import type { ConnectionParts } from './connection-wiring.js';
import type { LateHooks } from './late-hooks.js';
import type { HubSecrets } from './secrets.js';
import { createSignIn, type SignIn } from './sign-in-wiring.js';
import { createSsoRouteOptions } from './sso-wiring.js';
import type { UpstreamParts } from './upstream-wiring.js';

/** Signing in (browser sessions, the hub's authorization server, single sign-on) and accounts. */
export interface AccountParts {
  signIn: SignIn;
  accounts: AccountsService;
  sso: ReturnType<typeof createSsoRouteOptions>;
}

/** Builds sign-in, the accounts service and single sign-on, and starts hearing account changes. */
export async function buildAccounts(
  deps: {
    config: HubConfig;
    options: {
      authorizationServerFetch?: FetchLike | undefined;
      loginAttemptsPerMinute?: number | undefined;
    };
    secrets: HubSecrets;
    repos: Repositories;
    kv: Kv;
    identity: IdentityService;
    accountChanges: AccountChangeFeed;
    connections: ConnectionParts;
    servers: ServersFeature;
    upstreams: UpstreamParts;
    clock: Clock;
    logger: Logger;
  },
  hooks: LateHooks,
  cleanups: Cleanups,
): Promise<AccountParts> {
  const { config, repos, kv, identity, connections, clock, logger } = deps;
  const registry = deps.servers.registry;
  const signIn = await createSignIn({
    publicUrl: config.env.publicUrl,
    trustProxy: config.env.trustProxy,
    jwtSecret: deps.secrets.jwtSecret,
    repos,
    keyring: connections.keyring,
    identity,
    clock,
    logger,
    // A client metadata document is any URL a client names: the users' egress path, small and quick.
    clientMetadataFetch:
      deps.options.authorizationServerFetch ??
      connections.userEgress.withLimits({ maxResponseBytes: 16 * 1024, timeoutMs: 5_000 }),
    onAuthenticated: (who) => hooks.onAuthenticated(who),
  });
  hooks.endClientAuthorizations = (userId) => signIn.endClientAuthorizations(userId);

  const { upstreams, oauth } = deps.upstreams;
  // The accounts service itself ends a user's MCP client authorizations (password, disable,
  // removal), as it does from the command line.
  const accounts = createAccountsService({
    repos,
    announce: (change) => deps.accountChanges.announce(change),
    beforeRemove: revokeOnRemoval({ logger, repos, identity, registry, upstreams, oauth }),
  });
  deps.accountChanges.start({ kv, identity, pool: connections.pool, tools: connections.tools, registry });
  // A subscription still pending ends with the KV, closed after this.
  cleanups.push(() => deps.accountChanges.stop());
  // Identity providers are the admin's word: reached through the admin egress path, tightly capped.
  const sso = createSsoRouteOptions({
    config,
    kv,
    keyring: connections.keyring,
    fetch: deps.upstreams.adminOAuthFetch,
    clock,
    random: systemRandom,
    logger,
    repos,
    accounts,
    sessions: signIn.sessions,
    attemptsPerMinute: deps.options.loginAttemptsPerMinute ?? config.mcpSettings.rateLimits?.sso ?? 30,
  });
  return { signIn, accounts, sso };
}
