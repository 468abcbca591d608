import { AuthorizationServer } from '../authorization-server/index.js';
import type { Identity, IdentityService } from '../auth/index.js';
import type { Clock } from '../core/index.js';
import { systemRandom } from '../core/index.js';
import type { CipherKeyring } from '../credentials/index.js';
import type { FetchLike } from '../net/index.js';
import type { Logger } from '../observability/index.js';
import { SessionService, signInPath } from '../sessions/index.js';
import type { Repositories } from '../store/index.js';

/** What {@link createSignIn} builds browser sessions and the hub's authorization server from. */
export interface SignInDeps {
  publicUrl: string;
  trustProxy: boolean;
  jwtSecret: string;
  repos: Pick<Repositories, 'browserSessions' | 'users' | 'oauthServer'>;
  keyring: CipherKeyring;
  identity: IdentityService;
  clock: Clock;
  logger: Logger;
  /** Fetches client metadata documents: the users' egress path, small and quick. */
  clientMetadataFetch: FetchLike;
  /** Every request authenticated by a session or a hub access token reports its caller here. */
  onAuthenticated: (who: Identity) => void;
}

/** The hub's two sign-in parts, and how a user's MCP client authorizations end. */
export interface SignIn {
  sessions: SessionService;
  authorizationServer: AuthorizationServer;
  /**
   * Deletes every grant and token the user holds at the hub's authorization server (password
   * change, removal); a failure is logged, never thrown, so the account change itself goes on.
   */
  endClientAuthorizations(userId: string): Promise<void>;
}

/**
 * Browser sessions (stored in the database, so any instance serves any browser) and the hub as
 * the OAuth authorization server of its own `/mcp`, whose only login is that session.
 */
export async function createSignIn(deps: SignInDeps): Promise<SignIn> {
  const sessions = new SessionService({
    sessions: deps.repos.browserSessions,
    users: deps.repos.users,
    identity: deps.identity,
    clock: deps.clock,
    random: systemRandom,
    logger: deps.logger,
    publicUrl: deps.publicUrl,
    onAuthenticated: deps.onAuthenticated,
  });
  const pathPrefix = new URL(deps.publicUrl).pathname.replace(/\/+$/, '');
  const authorizationServer = await AuthorizationServer.create({
    publicUrl: deps.publicUrl,
    trustProxy: deps.trustProxy,
    repo: deps.repos.oauthServer,
    keyring: deps.keyring,
    jwtSecret: deps.jwtSecret,
    clock: deps.clock,
    fetch: deps.clientMetadataFetch,
    identity: deps.identity,
    sessions,
    signInUrl: (returnTo) => signInPath(pathPrefix, returnTo),
    onAuthenticated: deps.onAuthenticated,
    logger: deps.logger,
  });
  return {
    sessions,
    authorizationServer,
    async endClientAuthorizations(userId) {
      await authorizationServer.apps.forgetUser(userId).catch((err: unknown) => {
        deps.logger.warn({ err, userId }, 'could not end the MCP client authorizations of a user');
      });
    },
  };
}
