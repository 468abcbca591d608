import { createHash } from 'node:crypto';
import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  selectResourceURL,
  type OAuthClientProvider,
} from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { ServerConfig } from '../config/index.js';
import type { FetchLike } from '../connections/index.js';
import type { Clock } from '../core/index.js';
import { HubError, type HubErrorCode } from '../errors/index.js';
import type { Logger } from '../observability/index.js';
import { readServerMetadata } from './metadata.js';
import { captureJson, oauthFetch, observeStatus } from './oauth-fetch.js';
import { checkOAuthUrl, must } from './safe-urls.js';
import type { AuthorizationServerInfo, DiscoverInput, OAuthDiscovery, OAuthSettings } from './types.js';

/** What {@link createDiscovery} needs. */
export interface DiscoveryDeps {
  /** The egress path of a server's OAuth requests. */
  fetchFor: (serverName: string) => FetchLike;
  clock: Clock;
  logger: Logger;
  settings: Pick<OAuthSettings, 'metadataCacheMs' | 'requestTimeoutMs'>;
}

/** Discovery with a short in-memory cache (concurrent callers share one lookup). */
export interface Discovery {
  discover(input: DiscoverInput): Promise<OAuthDiscovery>;
}

const CACHE_LIMIT = 1000;

/** Builds the discovery step of the OAuth client. */
export function createDiscovery(deps: DiscoveryDeps): Discovery {
  const cache = new Map<string, { at: number; value: Promise<OAuthDiscovery> }>();

  return {
    discover(input) {
      const key = cacheKey(input);
      const hit = cache.get(key);
      if (hit && deps.clock.now() - hit.at < deps.settings.metadataCacheMs) return hit.value;
      const value = lookUp(deps, input);
      cache.delete(key);
      cache.set(key, { at: deps.clock.now(), value });
      if (cache.size > CACHE_LIMIT) {
        const oldest = cache.keys().next();
        if (!oldest.done) cache.delete(oldest.value);
      }
      // A failure is not remembered: the next caller tries again.
      value.catch(() => {
        if (cache.get(key)?.value === value) cache.delete(key);
      });
      return value;
    },
  };
}

function cacheKey(input: DiscoverInput): string {
  const material = JSON.stringify([
    input.serverName,
    input.serverUrl,
    input.challenge?.resourceMetadataUrl ?? null,
    input.config.oauth ?? null,
    input.config.oauth_headers ?? null,
  ]);
  // Hashed so configured secrets (oauth_headers) never sit in a map key in clear.
  return createHash('sha256').update(material).digest('base64url');
}

async function lookUp(deps: DiscoveryDeps, input: DiscoverInput): Promise<OAuthDiscovery> {
  const oauth = input.config.oauth;
  if (oauth?.authorization_url !== undefined && oauth.token_url !== undefined) {
    return configured(input.serverUrl, input.config);
  }
  const fetch = oauthFetch(
    deps.fetchFor(input.serverName),
    input.config.oauth_headers,
    deps.settings.requestTimeoutMs,
  );
  const prm = await protectedResourceMetadata(deps, fetch, input);
  const resource = prm ? await checkedResource(input.serverUrl, prm) : canonicalResource(input.serverUrl);
  // RFC 9728 §2: the first listed AS; without PRM, the 2025-03-26 rule: the server's origin is the AS.
  const asUrl = prm?.authorization_servers?.[0] ?? new URL('/', input.serverUrl).href;
  must(checkOAuthUrl(asUrl, 'authorization server URL'));
  const authorizationServer = await authorizationServerMetadata(deps, fetch, asUrl, input.serverName);
  const scopes = prm?.scopes_supported?.filter((s) => s !== '');
  return {
    authorizationServer,
    resource,
    ...(scopes !== undefined && scopes.length > 0 ? { scopesSupported: scopes } : {}),
    source: 'discovered',
  };
}

/** Pre-registered endpoints skip discovery; the admin vouches for them, the URL rules still apply. */
function configured(serverUrl: string, config: ServerConfig): OAuthDiscovery {
  const oauth = config.oauth ?? {};
  const authorization = must(checkOAuthUrl(oauth.authorization_url, 'oauth.authorization_url'));
  const token = must(checkOAuthUrl(oauth.token_url, 'oauth.token_url'));
  const revocation =
    oauth.revocation_endpoint === undefined
      ? undefined
      : must(checkOAuthUrl(oauth.revocation_endpoint, 'oauth.revocation_endpoint'));
  const info: AuthorizationServerInfo = {
    // No metadata means no issuer identifier: the authorization endpoint's origin stands in for it.
    issuer: authorization.origin,
    authorizationEndpoint: authorization.href,
    tokenEndpoint: token.href,
    responseTypesSupported: oauth.response_types_supported ?? ['code'],
    issParameterSupported: false,
    // No metadata, so no such promise: the configured client or a registration is used.
    clientIdMetadataDocumentSupported: false,
    issuerMatch: 'origin',
    ...(revocation ? { revocationEndpoint: revocation.href } : {}),
    ...optional('codeChallengeMethodsSupported', oauth.code_challenge_methods_supported),
    ...optional('tokenEndpointAuthMethodsSupported', oauth.token_endpoint_auth_methods_supported),
    ...optional('revocationEndpointAuthMethodsSupported', oauth.revocation_endpoint_auth_methods_supported),
  };
  return { authorizationServer: info, resource: canonicalResource(serverUrl), source: 'configured' };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

/**
 * RFC 8707 §2: the resource is an absolute URI without a fragment; MCP prefers it without the
 * trailing slash a bare origin gets from the URL parser.
 */
export function canonicalResource(serverUrl: string): string {
  const url = new URL(serverUrl);
  url.hash = '';
  const href = url.href;
  return url.pathname === '/' && url.search === '' && !serverUrl.endsWith('/') ? href.slice(0, -1) : href;
}

/**
 * RFC 9728 §3: the challenge's `resource_metadata` URL first, then the SDK's path-inserted and root
 * well-known URLs. "Not there" (4xx) moves on; a refused or failing request stops discovery
 * (SS-09: no fallback around the egress guard); a malformed document is refused (SS-11).
 * Undefined when the server publishes no PRM (servers of the 2025-03-26 era).
 */
async function protectedResourceMetadata(
  deps: DiscoveryDeps,
  fetch: FetchLike,
  input: DiscoverInput,
): Promise<OAuthProtectedResourceMetadata | undefined> {
  const attempts: (string | undefined)[] = [];
  const fromChallenge = input.challenge?.resourceMetadataUrl;
  if (fromChallenge !== undefined)
    attempts.push(must(checkOAuthUrl(fromChallenge, 'resource_metadata')).href);
  attempts.push(undefined);
  for (const resourceMetadataUrl of attempts) {
    const observed = observeStatus(fetch);
    try {
      return await discoverOAuthProtectedResourceMetadata(
        input.serverUrl,
        resourceMetadataUrl === undefined ? undefined : { resourceMetadataUrl },
        observed.fetch,
      );
    } catch (error) {
      const status = observed.lastStatus();
      if (status !== undefined && status >= 400 && status < 500) continue;
      throw discoveryError(deps, input.serverName, 'protected resource metadata', error, status);
    }
  }
  return undefined;
}

// selectResourceURL takes a provider only to ask its optional validateResourceURL; the hub has no
// provider object (it drives the helpers itself), so this stand-in answers nothing else.
const RESOURCE_CHECK_ONLY: OAuthClientProvider = {
  redirectUrl: undefined,
  clientMetadata: { redirect_uris: [] },
  clientInformation: () => undefined,
  tokens: () => undefined,
  saveTokens: () => undefined,
  redirectToAuthorization: () => undefined,
  saveCodeVerifier: () => undefined,
  codeVerifier: () => '',
};

/** RFC 9728 §3.3 (SS-13): a PRM for another resource is refused; the one it names is sent verbatim. */
async function checkedResource(serverUrl: string, prm: OAuthProtectedResourceMetadata): Promise<string> {
  try {
    await selectResourceURL(serverUrl, RESOURCE_CHECK_ONLY, prm);
  } catch (error) {
    throw new HubError('HUB_ERR_OAUTH_METADATA_INVALID', {
      message: 'The protected resource metadata names a different resource than the server URL',
      cause: error,
    });
  }
  must(checkOAuthUrl(prm.resource, 'resource'));
  if (prm.jwks_uri !== undefined) must(checkOAuthUrl(prm.jwks_uri, 'jwks_uri'));
  return prm.resource;
}

async function authorizationServerMetadata(
  deps: DiscoveryDeps,
  fetch: FetchLike,
  asUrl: string,
  serverName: string,
): Promise<AuthorizationServerInfo> {
  const observed = observeStatus(fetch);
  const capture = captureJson(observed.fetch);
  let metadata;
  try {
    metadata = await discoverAuthorizationServerMetadata(asUrl, { fetchFn: capture.fetch });
  } catch (error) {
    throw discoveryError(deps, serverName, 'authorization server metadata', error, observed.lastStatus());
  }
  if (metadata === undefined) {
    throw discoveryError(deps, serverName, 'authorization server metadata', undefined, observed.lastStatus());
  }
  return readServerMetadata(asUrl, metadata, capture.documents());
}

function discoveryError(
  deps: DiscoveryDeps,
  serverName: string,
  what: string,
  error: unknown,
  status: number | undefined,
): HubError {
  if (error instanceof HubError && error.code === 'HUB_ERR_OAUTH_METADATA_INVALID') return error;
  // The SDK validates documents with zod; a 2xx that fails that is a bad document, not an outage.
  const malformed = error instanceof Error && error.name === 'ZodError';
  const code: HubErrorCode = malformed ? 'HUB_ERR_OAUTH_METADATA_INVALID' : 'HUB_ERR_OAUTH_DISCOVERY_FAILED';
  // Only facts: SDK messages may quote response bodies.
  deps.logger.warn(
    {
      serverName,
      what,
      status,
      errorName: error instanceof Error ? error.name : undefined,
      errorCode: code,
    },
    'OAuth discovery failed',
  );
  return new HubError(code, { cause: error });
}
