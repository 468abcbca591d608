import { extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { HubError, isHubError } from '../errors/index.js';
import type { OAuthChallenge } from './types.js';

/** What a 401 or 403 from a protected MCP server asks for. */
export type ParsedChallenge = OAuthChallenge;

/**
 * Reads the `WWW-Authenticate: Bearer` challenge of an upstream response (RFC 6750 §3,
 * RFC 9728 §5.1), for `initiate({ challenge })`. Empty when the response carries none.
 */
export function challengeFromResponse(response: Response): ParsedChallenge {
  const params = extractWWWAuthenticateParams(response);
  return {
    ...(params.resourceMetadataUrl ? { resourceMetadataUrl: params.resourceMetadataUrl.href } : {}),
    ...(params.scope === undefined ? {} : { scope: params.scope }),
    ...(params.error === undefined ? {} : { error: params.error }),
  };
}

/**
 * A request on a live connection the upstream refused with HTTP 403 while its latest challenge
 * says `insufficient_scope` (RFC 6750 §3.1): the token is good but lacks a scope this call needs,
 * so the user must grant more (a step-up, whose authorization asks for the old scope plus the
 * challenge's). Answers the call's error for that case, or undefined for any other failure.
 */
export function insufficientScope(
  err: unknown,
  serverName: string,
  challenge: OAuthChallenge | undefined,
): HubError | undefined {
  if (!isHubError(err) || err.details?.upstreamStatus !== 403) return undefined;
  if (challenge?.error !== 'insufficient_scope') return undefined;
  return new HubError('HUB_ERR_OAUTH_INSUFFICIENT_SCOPE', {
    message: `MCP server '${serverName}' needs more permissions for this call than you granted`,
    details: challenge.scope === undefined ? {} : { scope: challenge.scope },
    cause: err,
  });
}
