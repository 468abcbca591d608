import { startAuthorization } from '@modelcontextprotocol/sdk/client/auth.js';
import { destinationDigest } from '../credentials/index.js';
import { HubError } from '../errors/index.js';
import { flowIdFor } from './flow-ids.js';
import { sealFlowSecrets } from './flow-secrets.js';
import type { StateRecord } from './flow-store.js';
import { toSdkMetadata } from './metadata.js';
import { oauthFetch } from './oauth-fetch.js';
import type { OAuthParts } from './parts.js';
import { authorizationAudience, resourceOption, sendsResource } from './request-options.js';
import { checkOAuthUrl, must } from './safe-urls.js';
import { chooseScope, claimStepUp, combineScopes } from './scopes.js';
import type { InitiatedFlow, InitiateInput, OAuthDiscovery } from './types.js';

/**
 * OAuth 2.1 §4.1.1 / MCP authorization: PKCE with S256 is mandatory. An AS that does not advertise
 * S256 is refused (OA-13) unless the admin set `skip_code_challenge_check`; configured endpoints
 * are refused only when their configured list leaves S256 out. The hub sends S256 regardless.
 */
function assertPkce(discovery: OAuthDiscovery, skipCheck: boolean): void {
  if (skipCheck) return;
  const methods = discovery.authorizationServer.codeChallengeMethodsSupported;
  if (methods === undefined && discovery.source === 'configured') return;
  if (!methods?.includes('S256')) throw new HubError('HUB_ERR_OAUTH_PKCE_UNSUPPORTED');
}

/** Starts one authorization attempt: its own state and verifier (OA-12), stored for 10 minutes. */
export async function initiateFlow(parts: OAuthParts, input: InitiateInput): Promise<InitiatedFlow> {
  const { userId, serverName, config, challenge } = input;
  const flowId = flowIdFor(userId, serverName);
  const discovery = await parts.discovery.discover({
    serverName,
    serverUrl: input.serverUrl,
    config,
    challenge,
  });
  const as = discovery.authorizationServer;
  const skipPkceCheck = config.oauth?.skip_code_challenge_check === true;
  assertPkce(discovery, skipPkceCheck);
  if (!as.responseTypesSupported.includes('code')) {
    throw new HubError('HUB_ERR_OAUTH_METADATA_INVALID', {
      message: 'The authorization server does not support the authorization code flow',
    });
  }

  const scope = await scopeFor(parts, input, discovery);
  // OA-14: always the hub's own callback; a configured oauth.redirect_uri is ignored.
  const redirectUri = parts.redirectUri(serverName);
  const fetch = oauthFetch(parts.fetchFor(serverName), config.oauth_headers, parts.settings.requestTimeoutMs);
  const client = await parts.clients.forAuthorization({ serverName, config, as, redirectUri, scope, fetch });

  // RFC 9700 §4.7.1 / OA-11: 256 bits of state, never reused.
  const state = parts.random.bytes(32).toString('base64url');
  const metadata = toSdkMetadata(as);
  // With the check skipped, the advertised list must not stop the SDK either; S256 is still sent.
  if (skipPkceCheck) delete metadata.code_challenge_methods_supported;
  const sendResource = sendsResource(config);
  const { authorizationUrl, codeVerifier } = await startAuthorization(as.issuer, {
    metadata,
    clientInformation: { client_id: client.client_id },
    redirectUrl: redirectUri,
    state,
    // RFC 8707 §2: the resource the token is for (OA-11), unless the admin turned the parameter off.
    ...resourceOption(sendResource, discovery.resource),
    ...(scope === undefined ? {} : { scope }),
  });
  // Auth0-style ASes pick the token's API from `audience`, which the SDK has no option for.
  const audience = authorizationAudience(config);
  if (audience !== undefined) authorizationUrl.searchParams.set('audience', audience);
  // SS-11/12: only an http(s) URL, serialised by the URL parser, ever reaches the browser.
  const url = must(checkOAuthUrl(authorizationUrl.href, 'authorization URL'));

  const epoch = await parts.flows.open(flowId, userId, serverName);
  const record: StateRecord = {
    v: 1,
    flowId,
    userId,
    serverName,
    serverUrl: input.serverUrl,
    issuer: as.issuer,
    redirectUri,
    // What the hub meant, even when not sent: the token binding checks the URL against it.
    resource: discovery.resource,
    scope: scope ?? null,
    clientRef: client.ref,
    // The tokens this flow yields are for this destination only, whatever changes before the callback.
    binding: destinationDigest(config),
    createdAt: parts.clock.now(),
    epoch,
    as,
    sealed: sealFlowSecrets(parts.keyring, flowId, state, {
      codeVerifier,
      client,
      headers: { ...config.oauth_headers },
      ...(sendResource ? {} : { sendResource: false }),
    }),
  };
  await parts.flows.putState(state, record);
  parts.logger.info(
    {
      flowId,
      serverName,
      issuer: as.issuer,
      clientRef: client.ref,
      has_state: true,
      scope,
      stepUp: challenge?.scope !== undefined,
    },
    'OAuth flow initiated',
  );
  return { flowId, authorizationUrl: url.href, state };
}

/**
 * OA-21: a challenge scope while the user already holds tokens is a step-up; it asks for the old
 * grant plus the new scope, and only `maxStepUps` times per flow window.
 */
async function scopeFor(
  parts: OAuthParts,
  input: InitiateInput,
  discovery: OAuthDiscovery,
): Promise<string | undefined> {
  const challengeScope = combineScopes(input.challenge?.scope);
  const base = chooseScope(challengeScope, discovery.scopesSupported, input.config.oauth?.scope);
  if (challengeScope === undefined) return base;
  const previous = await parts.tokens.load(input);
  if (previous === null) return base;
  const { maxStepUps, flowTtlMs } = parts.settings;
  if (!(await claimStepUp(parts.kv, input.userId, input.serverName, maxStepUps, flowTtlMs))) {
    parts.logger.warn(
      { userId: input.userId, serverName: input.serverName },
      'OAuth step-up limit reached; not asking again',
    );
    throw new HubError('HUB_ERR_OAUTH_STEP_UP_LIMIT');
  }
  return combineScopes(previous.scope, challengeScope);
}
