import type { JWK } from 'jose';
import Provider, { errors, interactionPolicy, type Configuration } from 'oidc-provider';
import type { Clock } from '../core/index.js';
import type { FetchLike } from '../net/index.js';
import type { OAuthServerRepository } from '../store/index.js';
import { mcpResource, MCP_SCOPE, parseResource } from './resources.js';
import { installProviderMiddleware, renderError } from './provider-middleware.js';
import { ExpirySweeper, SqlAdapter } from './sql-adapter.js';

/** Access tokens live 15 minutes: short enough that a leak is brief, long enough for a session of tool calls. */
export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
/** Refresh tokens (and the approval behind them) last 30 days from the approval, however often they rotate. */
export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 60 * 60;
/** Where the hub's own interaction pages live, below PUBLIC_URL. */
export const INTERACTION_PATH = '/oauth2/interaction';

/** What {@link createProvider} builds the authorization server from. */
export interface ProviderOptions {
  /** The issuer, also the base of the hub's resources. */
  publicUrl: string;
  /** Honour X-Forwarded-* (TRUST_PROXY), so URLs and `secure` cookies follow the proxy. */
  trustProxy: boolean;
  repo: OAuthServerRepository;
  clock: Clock;
  /** Private signing keys, oldest first. */
  signingKeys: readonly JWK[];
  /** Cookie signing keys (never JWT_SECRET itself). */
  cookieKeys: readonly string[];
  /** Outbound requests (client metadata documents): the users' egress guard, with caps. */
  fetch: FetchLike;
  /** Whether the account exists and may sign in now (read on every grant and refresh). */
  accountEnabled(userId: string): Promise<boolean>;
}

/** The largest client metadata document read, in bytes: a client's metadata is a few hundred bytes. */
const CLIENT_DOCUMENT_LIMIT = 16 * 1024;

/**
 * The login prompt always asks, unless this very authorization is resuming with the login that
 * the hub's own interaction page wrote from the hub's browser session. oidc-provider's own session
 * cookie therefore never signs anyone in by itself: whoever the hub session names is who logs in.
 */
function hubLoginPolicy(): interactionPolicy.DefaultPolicy {
  const policy = interactionPolicy.base();
  const login = policy.get('login');
  if (login === undefined) throw new Error('oidc-provider has no login prompt');
  login.checks.add(
    new interactionPolicy.Check(
      'hub_session',
      'the hub browser session decides who signs in',
      (ctx) => ctx.oidc.result?.login === undefined,
    ),
  );
  return policy;
}

/**
 * Builds the hub's authorization server on oidc-provider (an OpenID-certified implementation):
 * RFC 8414 metadata, RFC 7591 registration (public clients allowed), Client ID Metadata Documents,
 * PKCE with S256 only, RFC 8707 resource indicators limited to the hub's MCP endpoints, opaque
 * 15-minute access tokens bound to that resource, rotating refresh tokens, RFC 7009 revocation.
 */
export function createProvider(options: ProviderOptions): Provider {
  const { publicUrl } = options;
  const prefix = new URL(publicUrl).pathname.replace(/\/+$/, '');
  const sweeper = new ExpirySweeper(options.repo, options.clock);
  const configuration: Configuration = {
    adapter: (model: string) => new SqlAdapter(model, options.repo, options.clock, sweeper),
    jwks: { keys: options.signingKeys.map((key) => ({ ...key })) },
    cookies: {
      keys: [...options.cookieKeys],
      names: { session: 'sb_as_session', interaction: 'sb_as_interaction', resume: 'sb_as_resume' },
    },
    scopes: ['openid', 'offline_access', MCP_SCOPE],
    findAccount: async (_ctx, sub) =>
      (await options.accountEnabled(sub)) ? { accountId: sub, claims: () => ({ sub }) } : undefined,
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      // MCP clients are mostly native or browser apps without a secret (RFC 8252, OAuth 2.1 §2.1).
      token_endpoint_auth_method: 'none',
    },
    responseTypes: ['code'],
    // A browser-based client may call the token endpoint only from the origin of one of its redirect URIs.
    clientBasedCORS: (_ctx, origin, client) =>
      client.redirectUris?.some((uri) => new URL(uri).origin === origin) ?? false,
    // OAuth 2.1 §4.1.1: PKCE for every client; oidc-provider accepts S256 only.
    pkce: { required: () => true },
    // OAuth 2.1 §4.1.1: the redirect URI is always named, and must match one registered exactly.
    allowOmittingSingleRegisteredRedirectUri: false,
    features: providerFeatures(publicUrl),
    // MCP clients rarely ask for offline_access; every client allowed the grant gets a refresh token.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    // Tokens outlive oidc-provider's own short session: the hub's browser session is the real one.
    expiresWithSession: () => false,
    ttl: TOKEN_LIFETIMES,
    interactions: {
      policy: hubLoginPolicy(),
      url: (_ctx, interaction) => `${prefix}${INTERACTION_PATH}/${interaction.uid}`,
    },
    routes: ROUTES,
    // oidc-provider calls fetch with a URL string or object, never a Request.
    fetch: (input, init) =>
      input instanceof Request
        ? Promise.reject(new TypeError('unexpected Request'))
        : options.fetch(input, init),
    fetchResponseBodyLimits: {
      'client_id metadata document': CLIENT_DOCUMENT_LIMIT,
      jwks_uri: 64 * 1024,
      sector_identifier_uri: CLIENT_DOCUMENT_LIMIT,
    },
    renderError,
  };
  const provider = new Provider(publicUrl, configuration);
  provider.proxy = options.trustProxy;
  installProviderMiddleware(provider);
  return provider;
}

/**
 * What the authorization server offers beyond the OAuth core: registration (RFC 7591), revocation
 * (RFC 7009), Client ID Metadata Documents, and RFC 8707 resource indicators limited to the hub's
 * MCP endpoints.
 */
function providerFeatures(publicUrl: string): NonNullable<Configuration['features']> {
  return {
    devInteractions: { enabled: false },
    // /mcp takes bearer tokens only (its metadata says so); a DPoP-bound token would be accepted
    // there without its proof, so none is issued.
    dPoP: { enabled: false },
    registration: { enabled: true },
    revocation: { enabled: true },
    // Signing out is the hub session's business (POST /auth/signout); oidc-provider's own session
    // signs nobody in, so its logout endpoint would only be one more page to attack.
    rpInitiatedLogout: { enabled: false },
    clientIdMetadataDocument: {
      enabled: true,
      ack: 'draft-02',
      // Cached briefly: a client's changed document is seen within five minutes.
      cacheDuration: { min: 60, max: 300 },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, _client, oneOf) => {
        if (oneOf === undefined || oneOf.length === 0) return mcpResource(publicUrl);
        return oneOf.length === 1 && oneOf[0] !== undefined ? oneOf[0] : oneOf;
      },
      // RFC 8707 §2: the token's audience is the one resource asked for, and only the hub's MCP
      // endpoints are resources here (never the REST API, never an upstream server).
      getResourceServerInfo: (_ctx, indicator) => {
        if (parseResource(publicUrl, indicator) === null) {
          throw new errors.InvalidTarget('only this hub’s MCP endpoints are valid resources');
        }
        return {
          audience: indicator,
          scope: MCP_SCOPE,
          accessTokenFormat: 'opaque',
          accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
        };
      },
      // A token request without `resource` gets the authorization's resource; a refresh keeps it.
      useGrantedResource: () => true,
    },
  };
}

/** Lifetimes, in seconds, of what the authorization server issues. */
const TOKEN_LIFETIMES: NonNullable<Configuration['ttl']> = {
  AccessToken: ACCESS_TOKEN_TTL_SECONDS,
  AuthorizationCode: 60,
  IdToken: 60 * 60,
  Interaction: 10 * 60,
  Session: 60 * 60,
  Grant: REFRESH_TOKEN_TTL_SECONDS,
  // A rotated refresh token keeps the time its predecessor had left: 30 days from approval.
  RefreshToken: (ctx) => {
    const rotated: unknown = ctx?.oidc.entities.RotatedRefreshToken;
    if (typeof rotated === 'object' && rotated !== null && 'remainingTTL' in rotated) {
      const left = rotated.remainingTTL;
      if (typeof left === 'number') return left;
    }
    return REFRESH_TOKEN_TTL_SECONDS;
  },
};

/** The authorization server's endpoints, under the hub's public URL (only some are enabled). */
const ROUTES: NonNullable<Configuration['routes']> = {
  authorization: '/oauth2/authorize',
  token: '/oauth2/token',
  registration: '/oauth2/register',
  revocation: '/oauth2/revoke',
  jwks: '/oauth2/jwks',
  userinfo: '/oauth2/userinfo',
  end_session: '/oauth2/session/end',
  introspection: '/oauth2/introspect',
  pushed_authorization_request: '/oauth2/par',
  code_verification: '/oauth2/device',
  device_authorization: '/oauth2/device/auth',
  backchannel_authentication: '/oauth2/backchannel',
  challenge: '/oauth2/challenge',
};
