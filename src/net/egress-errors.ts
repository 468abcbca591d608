import { HubError } from '../errors/index.js';

/**
 * A refused destination. The message names the host as the caller wrote it and never the address
 * it resolved to, so a refusal is no oracle for internal DNS; the reason (with the address) goes in
 * `cause`, which reaches logs but never a response.
 */
export function egressDenied(message: string, reason?: string): HubError {
  return new HubError('HUB_ERR_EGRESS_DENIED', {
    message,
    ...(reason === undefined ? {} : { cause: new Error(reason) }),
  });
}

/**
 * A host that is not public (or did not resolve) and has no allowlist entry. One message for both,
 * so callers cannot probe which internal names exist; `reason` (for logs) tells them apart.
 */
export function hostNotAllowed(hostname: string, reason: string): HubError {
  return egressDenied(`Destination not allowed: ${hostname}`, reason);
}

/** An upstream answer the guard will not pass on: too large, or a redirect it does not follow. */
export function egressFailed(message: string): HubError {
  return new HubError('HUB_ERR_EGRESS_FAILED', { message });
}

/** The total time cap of a request ran out (SS-16). */
export function egressTimedOut(): HubError {
  return new HubError('HUB_ERR_UPSTREAM_TIMEOUT', { message: 'Outbound request timed out' });
}
