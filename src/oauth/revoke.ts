import type { FetchLike } from '../connections/index.js';
import { applyClientAuth, pickAuthMethod } from './client-auth.js';
import type { ResolvedClient } from './clients.js';
import { oauthFetch } from './oauth-fetch.js';
import type { OAuthParts } from './parts.js';
import { issuedBy } from './refresh.js';
import { belongsToIssuer } from './token-binding.js';
import type { StoredTokens } from './token-store.js';
import type { AuthorizationServerInfo, OAuthServerContext } from './types.js';

/**
 * RFC 7009 revocation, refresh token first (§2.1: revoking it may take the access tokens with it),
 * then the tokens are deleted whatever the AS said. Failures are logged, never thrown: a user who
 * asks to disconnect must end up disconnected. Nothing is sent unless the tokens were issued for
 * the server's current destination by its current authorization server (OA-17), and the
 * revocation endpoint is one of that issuer's: a token and the client's secret go nowhere else.
 */
export async function revokeTokens(parts: OAuthParts, ctx: OAuthServerContext): Promise<void> {
  const { userId, serverName } = ctx;
  try {
    // The stored set, not a cached one: the token to revoke is the one the AS holds now.
    const current = await parts.tokens.load(ctx, { fresh: true });
    if (current) await revokeAtIssuer(parts, ctx, current);
  } catch (error) {
    parts.logger.warn(
      { userId, serverName, errorName: error instanceof Error ? error.name : undefined },
      'OAuth token revocation failed',
    );
  }
  await parts.tokens.deleteAll(userId, serverName);
}

async function revokeAtIssuer(
  parts: OAuthParts,
  ctx: OAuthServerContext,
  current: StoredTokens,
): Promise<void> {
  const { userId, serverName } = ctx;
  const as = (await parts.discovery.discover(ctx)).authorizationServer;
  const endpoint = as.revocationEndpoint;
  if (endpoint === undefined) return;
  if (!issuedBy(as, current.issuer) || !belongsToIssuer(as, endpoint)) {
    parts.logger.warn(
      { userId, serverName },
      "OAuth revocation skipped: the endpoint is not the tokens' issuer's; nothing sent",
    );
    return;
  }
  const client = await parts.clients.existing({ serverName, config: ctx.config, as, ref: current.clientRef });
  if (!client) return;
  const fetch = oauthFetch(
    parts.fetchFor(serverName),
    ctx.config.oauth_headers,
    parts.settings.requestTimeoutMs,
  );
  const pairs: [string | undefined, string][] = [
    [current.refresh_token, 'refresh_token'],
    [current.access_token, 'access_token'],
  ];
  for (const [token, hint] of pairs) {
    if (token === undefined) continue;
    const status = await revokeOne(fetch, endpoint, as, client, token, hint);
    // RFC 7009 §2.2: 200 even for an unknown token; anything else is worth a line.
    if (status !== 200)
      parts.logger.warn({ userId, serverName, hint, status }, 'OAuth token revocation failed');
  }
  parts.logger.info({ userId, serverName }, 'OAuth tokens revoked at the authorization server');
}

async function revokeOne(
  fetch: FetchLike,
  endpoint: string,
  as: AuthorizationServerInfo,
  client: ResolvedClient,
  token: string,
  hint: string,
): Promise<number | undefined> {
  const headers = new Headers({
    'Content-Type': 'application/x-www-form-urlencoded',
    Accept: 'application/json',
  });
  const params = new URLSearchParams({ token, token_type_hint: hint });
  // RFC 7009 §2.1: the client authenticates as it does at the token endpoint.
  const method =
    client.forcedAuthMethod ??
    pickAuthMethod(
      client,
      as.revocationEndpointAuthMethodsSupported ?? as.tokenEndpointAuthMethodsSupported,
    ) ??
    (client.client_secret === undefined ? 'none' : 'client_secret_basic');
  applyClientAuth(method, client, headers, params);
  try {
    // A redirect would re-send the token to wherever it points: never followed.
    const response = await fetch(endpoint, { method: 'POST', headers, body: params, redirect: 'manual' });
    await response.body?.cancel();
    return response.status;
  } catch {
    return undefined;
  }
}
