import { createFlowBinding } from './binding.js';
import { completeCallback } from './callback.js';
import { createAuthorizedFetch } from './authorized-fetch.js';
import { checkClientMetadataUrl } from './client-metadata.js';
import { createClientRegistry } from './clients.js';
import { createDiscovery } from './discovery.js';
import { needsAuthKey } from './flow-ids.js';
import { createFlowStore } from './flow-store.js';
import { initiateFlow } from './initiate.js';
import { DEFAULT_OAUTH_SETTINGS, type OAuthParts } from './parts.js';
import { createTokenRefresher } from './refresh.js';
import { revokeTokens } from './revoke.js';
import { must } from './safe-urls.js';
import { isFresh, isUnexpired } from './token-expiry.js';
import { createTokenStore } from './token-store.js';
import type { OAuthService, OAuthServiceDeps, OAuthSettings } from './types.js';
import type { FetchLike } from '../connections/index.js';

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Builds the hub's OAuth client. Routes, cookies, connections and
 * reinitialisation sit on top of it; it never reads a request or sets a cookie itself.
 * Throws `HUB_ERR_CONFIG_INVALID` for a malformed `clientMetadataUrl`, so a bad one stops startup.
 */
export function createOAuthService(deps: OAuthServiceDeps): OAuthService {
  const settings: OAuthSettings = { ...DEFAULT_OAUTH_SETTINGS, ...deps.settings };
  const logger = deps.logger.child({ module: 'oauth' });
  const clientMetadataUrl =
    deps.clientMetadataUrl === undefined ? undefined : must(checkClientMetadataUrl(deps.clientMetadataUrl));
  if (clientMetadataUrl !== undefined) {
    logger.info({ clientMetadataUrl }, 'OAuth Client ID Metadata Document offered to authorization servers');
  }
  const binding = createFlowBinding(deps.secret, { clock: deps.clock, random: deps.random });
  const fetchFor = deps.fetchFor ?? ((): FetchLike => deps.fetch);
  const tokens = createTokenStore({
    credentials: deps.credentials,
    keyring: deps.keyring,
    logger,
    cache: deps.tokenCache,
  });
  const parts: OAuthParts = {
    kv: deps.kv,
    clock: deps.clock,
    random: deps.random,
    logger,
    keyring: deps.keyring,
    fetchFor,
    redirectUri: deps.redirectUri,
    settings,
    sleep: deps.sleep ?? realSleep,
    flows: createFlowStore({
      kv: deps.kv,
      clock: deps.clock,
      random: deps.random,
      ttlMs: settings.flowTtlMs,
    }),
    tokens,
    clients: createClientRegistry({
      credentials: deps.credentials,
      keyring: deps.keyring,
      kv: deps.kv,
      clock: deps.clock,
      logger,
      clientMetadataUrl,
    }),
    discovery: createDiscovery({ fetchFor, clock: deps.clock, logger, settings }),
  };
  const refresher = createTokenRefresher(parts);

  return {
    discover: (input) => parts.discovery.discover(input),
    initiate: (input) => initiateFlow(parts, input),
    bindingValue: (flowId) => binding.value(flowId),
    verifyBinding: (flowId, cookieValue) => binding.verify(flowId, cookieValue),
    completeCallback: (input) => completeCallback(parts, input),
    getAccessToken: (ctx) => refresher.getAccessToken(ctx),
    refreshAfterUnauthorized: (ctx) => refresher.refreshAfterUnauthorized(ctx),
    authorizedFetch: (base, ctx) => createAuthorizedFetch(refresher, base, ctx),

    async tokenMetadata(userId, serverName) {
      const current = await tokens.peek(userId, serverName);
      // An allowlist of fields: token values can never leak through this shape.
      return current
        ? { token_type: current.token_type, expires_at: current.expires_at, scope: current.scope }
        : null;
    },

    async authState(ctx) {
      const { userId, serverName } = ctx;
      const current = await tokens.load(ctx);
      const now = deps.clock.now();
      if (current) {
        if (isFresh(current, now, settings.expirySkewMs)) return 'authorized';
        if (current.refresh_token !== undefined || isUnexpired(current, now)) return 'expiring';
        return 'needs_auth';
      }
      return (await deps.kv.get(needsAuthKey(userId, serverName))) === null ? 'none' : 'needs_auth';
    },

    async flowStatus(flowId) {
      const flow = await parts.flows.getFlow(flowId);
      return flow ? { status: flow.status, error: flow.error } : null;
    },
    waitForFlow: (flowId, timeoutMs, signal) => parts.flows.wait(flowId, timeoutMs, signal),
    cancel: async (flowId) => {
      const cancelled = await parts.flows.cancel(flowId);
      if (cancelled) logger.info({ flowId }, 'OAuth flow cancelled');
      return cancelled;
    },
    revoke: (ctx) => revokeTokens(parts, ctx),
    async deleteTokens(userId, serverName) {
      await tokens.deleteAll(userId, serverName);
    },
  };
}
