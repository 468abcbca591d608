import * as oidc from 'openid-client';
import type { SsoProviderConfig } from '../config/index.js';
import type { Clock } from '../core/index.js';
import { HubError } from '../errors/index.js';
import type { FetchLike } from '../net/index.js';

/** After a failed discovery, requests fail at once for this long before the next attempt. */
export const DISCOVERY_RETRY_AFTER_MS = 30_000;
/** openid-client's own cap on each request, in seconds; the egress fetch has its own as well. */
const REQUEST_TIMEOUT_SECONDS = 10;

/** One provider's discovery: the configuration once known, the attempt under way, or the last failure. */
interface DiscoveryState {
  configuration?: oidc.Configuration;
  pending?: Promise<oidc.Configuration>;
  failedAt?: number;
}

function isLoopbackHttp(issuer: string): boolean {
  // The config allows http only for loopback hosts, so http here is always one of them.
  return new URL(issuer).protocol === 'http:';
}

/**
 * OpenID Connect Core §9: client_secret_basic is the default every provider supports; a provider
 * that lists only client_secret_post gets that instead.
 */
function clientAuthentication(provider: SsoProviderConfig, metadata: oidc.ServerMetadata): oidc.ClientAuth {
  if (provider.clientSecret === undefined) return oidc.None();
  const methods = metadata.token_endpoint_auth_methods_supported;
  if (
    methods !== undefined &&
    !methods.includes('client_secret_basic') &&
    methods.includes('client_secret_post')
  ) {
    return oidc.ClientSecretPost(provider.clientSecret);
  }
  return oidc.ClientSecretBasic(provider.clientSecret);
}

/**
 * The openid-client configuration of each provider, discovered on first use (OpenID Connect
 * Discovery §4) through the admin egress fetch and kept for the life of the process. Concurrent
 * first uses share one attempt; a failure is remembered for {@link DISCOVERY_RETRY_AFTER_MS} so an
 * unreachable provider is not asked again on every click, then tried afresh.
 */
export class ProviderClients {
  private readonly states = new Map<string, DiscoveryState>();

  constructor(
    private readonly fetch: FetchLike,
    private readonly clock: Clock,
  ) {}

  /** The provider's configuration; throws `HUB_ERR_OAUTH_DISCOVERY_FAILED` when it cannot be had. */
  async configuration(provider: SsoProviderConfig): Promise<oidc.Configuration> {
    const state = this.states.get(provider.id) ?? {};
    this.states.set(provider.id, state);
    if (state.configuration !== undefined) return state.configuration;
    if (state.failedAt !== undefined && this.clock.now() - state.failedAt < DISCOVERY_RETRY_AFTER_MS) {
      throw new HubError('HUB_ERR_OAUTH_DISCOVERY_FAILED', {
        message: 'The identity provider cannot be reached right now',
      });
    }
    state.pending ??= this.discover(provider).then(
      (configuration) => {
        state.configuration = configuration;
        delete state.pending;
        delete state.failedAt;
        return configuration;
      },
      (error: unknown) => {
        state.failedAt = this.clock.now();
        delete state.pending;
        throw new HubError('HUB_ERR_OAUTH_DISCOVERY_FAILED', {
          message: 'The identity provider cannot be reached right now',
          cause: error,
        });
      },
    );
    return state.pending;
  }

  private async discover(provider: SsoProviderConfig): Promise<oidc.Configuration> {
    const insecure = isLoopbackHttp(provider.issuer);
    // openid-client may pass `body: undefined`, which RequestInit (exact optional types) does not take.
    const customFetch: oidc.CustomFetch = (url, { body, ...init }) =>
      this.fetch(url, body === undefined ? init : { ...init, body });
    // openid-client checks that the document's `issuer` is exactly the configured one (Discovery §4.3).
    const discovered = await oidc.discovery(
      new URL(provider.issuer),
      provider.clientId,
      undefined,
      undefined,
      {
        [oidc.customFetch]: customFetch,
        timeout: REQUEST_TIMEOUT_SECONDS,
        ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
      },
    );
    const metadata = discovered.serverMetadata();
    const configuration = new oidc.Configuration(
      metadata,
      provider.clientId,
      undefined,
      clientAuthentication(provider, metadata),
    );
    configuration[oidc.customFetch] = customFetch;
    configuration.timeout = REQUEST_TIMEOUT_SECONDS;
    if (insecure) oidc.allowInsecureRequests(configuration);
    return configuration;
  }
}
