import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/index.js';
import type { FetchLike } from './types.js';

/** How long a liveness ping may take; a slower upstream is left to the calls' own timeouts. */
export const PING_TIMEOUT_MS = 5_000;

/**
 * Sends a JSON-RPC `ping` (MCP basic utilities, "Ping") on the session a broken POST stream
 * belonged to, with that POST's headers, and drops the answer. `fetch` is the fault-watching
 * one (`PassThroughFetch.probe`): a refused connection or a 404 for the session then drops the connection,
 * as when an upstream died; an upstream that answers keeps it, and the calls on it go on.
 * Settles when the ping is over; never rejects.
 */
export function pingUpstream(
  fetch: FetchLike,
  url: string | URL,
  init: RequestInit,
  logger: Logger,
  timeoutMs = PING_TIMEOUT_MS,
): Promise<void> {
  // A string id of our own: the SDK numbers its requests, so the answer can never pass for one.
  const body = JSON.stringify({ jsonrpc: '2.0', id: `hub-ping-${randomUUID()}`, method: 'ping' });
  const signal = AbortSignal.timeout(timeoutMs);
  return fetch(url, { method: 'POST', headers: init.headers ?? {}, body, signal })
    .then(async (response) => {
      await response.body?.cancel();
    })
    .catch((error: unknown) => {
      logger.debug({ err: error }, 'liveness ping after a broken event stream failed');
    });
}
