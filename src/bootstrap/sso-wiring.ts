import type { AccountsService } from '../accounts/index.js';
import type { HubConfig } from '../config/index.js';
import type { Clock, Random } from '../core/index.js';
import type { CipherKeyring } from '../credentials/index.js';
import type { Kv } from '../kv/index.js';
import type { FetchLike } from '../net/index.js';
import type { Logger } from '../observability/index.js';
import { safeReturnTo, type BrowserSessions } from '../sessions/index.js';
import type { Repositories } from '../store/index.js';
import { PendingSignIns, ProviderClients, SsoService, type SsoRouteOptions } from '../sso/index.js';

/** What {@link createSsoRouteOptions} builds single sign-on from. */
export interface SsoWiringDeps {
  config: Pick<HubConfig, 'sso' | 'env'>;
  kv: Kv;
  keyring: CipherKeyring;
  /** The admin egress fetch with a timeout and a size cap: identity providers are the admin's word. */
  fetch: FetchLike;
  clock: Clock;
  random: Random;
  logger: Logger;
  repos: Pick<Repositories, 'users' | 'groups'>;
  accounts: Pick<AccountsService, 'applyProviderRole'>;
  sessions: BrowserSessions;
  /** Starts and callbacks per client address per minute. */
  attemptsPerMinute: number;
}

/**
 * What the single sign-on routes run on for the configured providers (`/auth/sso/:id/start`, its
 * callback, and `GET /api/auth/providers`, which lists none when no provider is configured).
 */
export function createSsoRouteOptions(deps: SsoWiringDeps): SsoRouteOptions {
  const { publicUrl } = deps.config.env;
  const service = new SsoService({
    providers: deps.config.sso,
    publicUrl,
    clients: new ProviderClients(deps.fetch, deps.clock),
    pending: new PendingSignIns(deps.kv, deps.keyring, deps.clock),
    provisioning: {
      users: deps.repos.users,
      groups: deps.repos.groups,
      applyRole: (userId, role, providerId) => deps.accounts.applyProviderRole(userId, role, providerId),
      logger: deps.logger,
    },
    logger: deps.logger,
  });
  return {
    sso: service,
    sessions: deps.sessions,
    safeReturnTo,
    pathPrefix: new URL(publicUrl).pathname.replace(/\/+$/, ''),
    secure: publicUrl.startsWith('https:'),
    random: deps.random,
    attemptsPerMinute: deps.attemptsPerMinute,
  };
}
