import { checkResourceAllowed } from '@modelcontextprotocol/sdk/shared/auth-utils.js';
import { destinationDigest } from '../credentials/index.js';
import { sameOrigin } from './safe-urls.js';
import type { UncheckedTokens } from './token-store.js';
import type { AuthorizationServerInfo, OAuthServerContext } from './types.js';

/**
 * Why a stored token set may not be used for a connection:
 * `unbound`: written before tokens recorded their destination, so there is nothing to compare;
 * `destination_changed`: the server's URL, header templates or OAuth block changed since;
 * `other_resource`: the URL being connected (placeholders filled) is not the RFC 8707 resource the
 * tokens were issued for.
 */
export type TokenMisfit = 'unbound' | 'destination_changed' | 'other_resource';

/**
 * True when `serverUrl` lies within `resource` (same origin, path at or under it): the rule
 * discovery applies to a protected resource's metadata (RFC 9728 §3.3), applied again at use.
 */
export function resourceCovers(resource: string, serverUrl: string): boolean {
  try {
    return checkResourceAllowed({ requestedResource: serverUrl, configuredResource: resource });
  } catch {
    return false;
  }
}

/**
 * Checks that stored tokens were issued for this server's current destination and for the
 * resource about to be connected; null when they fit. A token is never sent anywhere else.
 */
export function tokenMisfit(tokens: UncheckedTokens, ctx: OAuthServerContext): TokenMisfit | null {
  if (tokens.binding === undefined) return 'unbound';
  if (tokens.binding !== destinationDigest(ctx.config)) return 'destination_changed';
  if (!resourceCovers(tokens.resource, ctx.serverUrl)) return 'other_resource';
  return null;
}

/**
 * True when `endpoint` may receive the client's credentials and the tokens of `as`. Discovered
 * endpoints all come from the issuer's own validated metadata (RFC 8414 §3.3), so they belong to
 * it. Hand-configured endpoints have no metadata to vouch for them: only the configured token
 * endpoint's origin is the authorization server's (RFC 7009 §2: revocation is the token
 * endpoint's sibling, authenticated the same way).
 */
export function belongsToIssuer(as: AuthorizationServerInfo, endpoint: string): boolean {
  if (as.issuerMatch === 'exact') {
    return [as.tokenEndpoint, as.revocationEndpoint, as.registrationEndpoint].includes(endpoint);
  }
  return sameOrigin(endpoint, as.tokenEndpoint);
}
