import { OAuthError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { isHubError } from '../errors/index.js';

const SAFE_ERROR_CODE = /^[a-z_]{1,64}$/;

/**
 * An AS error code fit to log or show: RFC 6749 §5.2 codes are `[a-z_]`; anything else (markup,
 * echoed secrets) is dropped (SE-08, OA-08).
 */
export function sanitizeErrorCode(value: unknown): string | undefined {
  return typeof value === 'string' && SAFE_ERROR_CODE.test(value) ? value : undefined;
}

/** The sanitised OAuth `error` of an SDK failure; its message (AS-controlled text) is never used. */
export function oauthErrorCode(error: unknown): string | undefined {
  return error instanceof OAuthError ? sanitizeErrorCode(error.errorCode) : undefined;
}

/** How a failed token request ended. */
export type TokenFailure =
  /** The AS answered 4xx: the grant (or client) is not acceptable; retrying cannot help. */
  | { kind: 'rejected'; status: number; oauthError: string | undefined }
  /** 5xx, 429, a timeout or a network failure (FT-09): worth a bounded retry. */
  | { kind: 'transient'; status: number | undefined }
  /** 2xx with a body that is not a token response: a broken AS, not an outage. */
  | { kind: 'invalid_response'; status: number }
  /** The egress guard refused the token endpoint: a policy matter, not the user's grant. */
  | { kind: 'refused' };

/** Classifies by the HTTP status the request observed, never by message text. */
export function classifyTokenFailure(error: unknown, status: number | undefined): TokenFailure {
  if (isHubError(error, 'HUB_ERR_EGRESS_DENIED')) return { kind: 'refused' };
  if (status === undefined || status >= 500 || status === 429) return { kind: 'transient', status };
  if (status >= 200 && status < 300) return { kind: 'invalid_response', status };
  return { kind: 'rejected', status, oauthError: oauthErrorCode(error) };
}
