import type { FastifyPluginAsync } from 'fastify';
import type Provider from 'oidc-provider';
import type { Identity, IdentityService } from '../auth/index.js';
import type { Clock } from '../core/index.js';
import type { CipherKeyring } from '../credentials/index.js';
import type { FetchLike } from '../net/index.js';
import type { Logger } from '../observability/index.js';
import type { OAuthServerRepository } from '../store/index.js';
import { ConnectedApps } from './connected-apps.js';
import { connectedAppsRoutes } from './connected-apps-routes.js';
import { interactionRoutes, type SessionLookup } from './interaction-routes.js';
import { cookieKeys, loadSigningKeys } from './keys.js';
import { createProvider } from './provider.js';
import { providerRoutes } from './provider-routes.js';
import { audienceCovers, MCP_SCOPE } from './resources.js';

/** What {@link AuthorizationServer.create} builds the hub's authorization server from. */
export interface AuthorizationServerOptions {
  /** PUBLIC_URL: the issuer, and the base of the resources it issues tokens for. */
  publicUrl: string;
  trustProxy: boolean;
  repo: OAuthServerRepository;
  /** Seals the signing keys at rest. */
  keyring: CipherKeyring;
  /** Cookie keys are derived from it (never used as a key itself). */
  jwtSecret: string;
  clock: Clock;
  /** Outbound fetch (client metadata documents): the users' egress guard with a timeout and a size cap. */
  fetch: FetchLike;
  identity: IdentityService;
  sessions: SessionLookup;
  /** The hub's sign-in page URL that comes back to `returnTo` once signed in. */
  signInUrl(returnTo: string): string;
  /** Told of every caller a hub access token authenticates (as every authenticated request does). */
  onAuthenticated(who: Identity): void;
  logger: Logger;
  /** Dynamic client registrations per client address per minute (default 30). */
  registrationsPerMinute?: number | undefined;
}

const DEFAULT_REGISTRATIONS_PER_MINUTE = 30;

/**
 * The hub as the OAuth 2.1 authorization server of its own MCP endpoints: oidc-provider for the
 * protocol, the hub's browser session for login, the hub's consent page, SQL for shared state.
 */
export class AuthorizationServer {
  /** The oidc-provider instance (tests read its models). */
  readonly provider: Provider;
  /** Each user's authorized clients. */
  readonly apps: ConnectedApps;
  readonly #options: AuthorizationServerOptions;

  private constructor(provider: Provider, options: AuthorizationServerOptions) {
    this.provider = provider;
    this.apps = new ConnectedApps(provider, options.repo);
    this.#options = options;
  }

  /** Loads (or, on the first start, generates) the signing keys and builds the provider. */
  static async create(options: AuthorizationServerOptions): Promise<AuthorizationServer> {
    const signingKeys = await loadSigningKeys({
      repo: options.repo,
      keyring: options.keyring,
      clock: options.clock,
    });
    const provider = createProvider({
      publicUrl: options.publicUrl,
      trustProxy: options.trustProxy,
      repo: options.repo,
      clock: options.clock,
      signingKeys,
      cookieKeys: cookieKeys(options.jwtSecret),
      fetch: options.fetch,
      accountEnabled: async (userId) => (await options.identity.identityOf(userId)) !== null,
    });
    // oidc-provider answers its own errors; a 500 is reported here (the error only: never a request's
    // parameters, which hold codes and tokens), instead of Koa's default print to stderr.
    provider.on('server_error', (_ctx: unknown, err: unknown) => {
      options.logger.error({ err }, 'authorization server error');
    });
    return new AuthorizationServer(provider, options);
  }

  /** Every route of the authorization server: its endpoints, the interaction pages, the connected-apps API. */
  readonly routes: FastifyPluginAsync = async (app) => {
    const options = this.#options;
    const pathPrefix = new URL(options.publicUrl).pathname.replace(/\/+$/, '');
    await app.register(providerRoutes, {
      provider: this.provider,
      pathPrefix,
      registrationsPerMinute: options.registrationsPerMinute ?? DEFAULT_REGISTRATIONS_PER_MINUTE,
    });
    await app.register(interactionRoutes, {
      provider: this.provider,
      repo: options.repo,
      sessions: options.sessions,
      signInUrl: (returnTo) => options.signInUrl(returnTo),
      publicUrl: options.publicUrl,
    });
    await app.register(connectedAppsRoutes, { identity: options.identity, apps: this.apps });
  };

  /**
   * The caller an access token of this server names, for the MCP endpoint whose resource is
   * `resource`; null unless the token is live, its grant too, its audience covers the endpoint,
   * it carries the `mcp` scope and its account is enabled. Read on every request, so a revoked
   * grant, a disabled account or a changed role applies at once.
   */
  async identityOf(token: string, resource: string): Promise<Identity | null> {
    const accessToken = await this.provider.AccessToken.find(token);
    if (accessToken === undefined) return null;
    const audience = accessToken.aud;
    // RFC 8707 §2 / RFC 9068 §4: a token is used only at the resource it was issued for.
    if (typeof audience !== 'string' || !audienceCovers(this.#options.publicUrl, audience, resource))
      return null;
    if (!accessToken.scopes.has(MCP_SCOPE)) return null;
    const grant = await this.provider.Grant.find(accessToken.grantId);
    if (
      grant === undefined ||
      grant.accountId !== accessToken.accountId ||
      grant.clientId !== accessToken.clientId
    ) {
      return null;
    }
    const who = await this.#options.identity.identityOf(accessToken.accountId);
    if (who !== null) this.#options.onAuthenticated(who);
    return who;
  }
}
