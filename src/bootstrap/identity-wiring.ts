import { createIdentityService, createTokenService, type IdentityService } from '../auth/index.js';
import type { HubConfig } from '../config/index.js';
import type { Clock } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import type { Repositories, StoreDatabase } from '../store/index.js';
import { AccountChangeFeed } from './account-wiring.js';
import type { LateHooks } from './late-hooks.js';
import type { HubSecrets } from './secrets.js';

/** Who a request is, and the feed that keeps every instance's view of accounts current. */
export interface IdentityParts {
  identity: IdentityService;
  accountChanges: AccountChangeFeed;
}

/** Builds token checking and account lookup; each authenticated request goes through `hooks`. */
export function buildIdentity(
  deps: {
    config: HubConfig;
    secrets: HubSecrets;
    repos: Repositories;
    database: StoreDatabase;
    clock: Clock;
    logger: Logger;
  },
  hooks: LateHooks,
): IdentityParts {
  const { env } = deps.config;
  const tokens = createTokenService({
    jwtSecret: deps.secrets.jwtSecret,
    clock: deps.clock,
    external: env.authJwksUrl
      ? { jwksUrl: env.authJwksUrl, issuer: env.authIssuer, audience: env.authAudience }
      : undefined,
  });
  // Accounts read are reused while every change reaches this instance: announced over a shared KV,
  // or, on one instance over SQLite, seen in the database's count of other processes' writes (the
  // CLI's). Otherwise the account is read on every request (one primary-key read).
  const accountChanges = new AccountChangeFeed(
    env.redis !== undefined,
    deps.logger,
    deps.database.outsideWrites,
  );
  const base = createIdentityService({
    tokens,
    users: deps.repos.users,
    roles: deps.config.roles,
    clock: deps.clock,
    cache: accountChanges.cacheOption(),
    emailLinkIssuers: env.authEmailLinkIssuers,
    onUserChanged: (userId) => {
      accountChanges.announceInBackground({ userId, change: 'password' });
      // A password change ends every MCP client's authorization at the hub's own authorization
      // server, as it ends every hub token and browser session.
      void hooks.endClientAuthorizations(userId);
    },
  });
  const identity: IdentityService = {
    ...base,
    async authenticate(token) {
      const who = await base.authenticate(token);
      hooks.onAuthenticated(who);
      return who;
    },
  };
  return { identity, accountChanges };
}
