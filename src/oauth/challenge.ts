import { extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthChallenge } from './types.js';

/** What a 401 or 403 from a protected MCP server asks for. */
export interface ParsedChallenge extends OAuthChallenge {
  /** RFC 6750 §3.1 `error`, e.g. `insufficient_scope` (a step-up, OA-21) or `invalid_token`. */
  error?: string | undefined;
}

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
