import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { HubError, isHubError } from '../errors/index.js';
import { resultTooLargeError } from './result-limit.js';

/** The HTTP status an SDK transport error carries, when it carries one. */
export function upstreamHttpStatus(error: unknown): number | undefined {
  if (error instanceof StreamableHTTPError || error instanceof SseError) {
    const code = error.code;
    return code !== undefined && code >= 100 && code <= 599 ? code : undefined;
  }
  return undefined;
}

/** The reason an aborted signal carries, as something throwable. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException('The operation was aborted', 'AbortError');
}

/**
 * What a caller of `callTool`/`listTools` sees when the request fails:
 * - its own abort: the signal's reason (the SDK would dress it up as a timeout);
 * - the SDK's request timeout: HUB_ERR_UPSTREAM_TIMEOUT;
 * - the connection closing under the call, or a transport failure: HUB_ERR_UPSTREAM_UNAVAILABLE;
 * - a result past the hub's size limit (the transport answered in its place): HUB_ERR_RESULT_TOO_LARGE;
 * - a JSON-RPC error the upstream answered with (unknown tool, bad params…): the SDK's
 *   `McpError` unchanged, so the tools layer can pass the upstream's words on as a tool error.
 */
export function toRequestError(error: unknown, callerSignal: AbortSignal | undefined): unknown {
  if (callerSignal?.aborted === true) return abortReason(callerSignal);
  if (isHubError(error)) return error;
  const tooLarge = resultTooLargeError(error);
  if (tooLarge !== undefined) return tooLarge;
  if (error instanceof McpError) {
    if (error.code === (ErrorCode.RequestTimeout as number)) {
      return new HubError('HUB_ERR_UPSTREAM_TIMEOUT', { cause: error });
    }
    if (error.code === (ErrorCode.ConnectionClosed as number)) {
      return new HubError('HUB_ERR_UPSTREAM_UNAVAILABLE', {
        message: 'MCP server connection closed',
        cause: error,
      });
    }
    return error;
  }
  return unavailable(error);
}

/** What an acquire that could not connect rejects with. */
export function toConnectError(error: unknown): HubError {
  if (isHubError(error)) return error;
  if (error instanceof McpError && error.code === (ErrorCode.RequestTimeout as number)) {
    return new HubError('HUB_ERR_UPSTREAM_TIMEOUT', {
      message: 'MCP server did not finish connecting in time',
      cause: error,
    });
  }
  return unavailable(error);
}

function unavailable(error: unknown): HubError {
  const status = upstreamHttpStatus(error);
  return new HubError('HUB_ERR_UPSTREAM_UNAVAILABLE', {
    cause: error,
    // The status is a fact about the upstream, safe to show; its body text may not be.
    ...(status === undefined ? {} : { details: { upstreamStatus: status } }),
  });
}

/** A connect failure no retry can fix (a transport this runtime cannot offer, say). */
export class PermanentConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentConnectError';
  }
}

// Spawn failures that another try cannot fix.
const PERMANENT_SPAWN_CODES = new Set(['ENOENT', 'EACCES', 'ENOTDIR', 'EISDIR', 'E2BIG']);

/**
 * Whether a failed connect attempt is worth repeating within the same acquire: a refused or
 * reset connection or a 5xx may pass; a 4xx (bad credentials, wrong path) or a missing
 * executable will not, and repeating them only delays the answer.
 */
export function isRetryableConnectError(error: unknown): boolean {
  const cause = isHubError(error) && error.cause !== undefined ? error.cause : error;
  if (cause instanceof PermanentConnectError) return false;
  // A timeout has spent the acquire's whole budget: there is no time left to retry in. Any
  // other code than "unavailable" is a verdict (an egress refusal, say) that will not change.
  if (isHubError(cause)) return cause.code === 'HUB_ERR_UPSTREAM_UNAVAILABLE';
  const status = upstreamHttpStatus(cause);
  if (status !== undefined) return status >= 500 || status === 408 || status === 429;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && PERMANENT_SPAWN_CODES.has(code)) return false;
  return !(cause instanceof McpError && cause.code !== (ErrorCode.ConnectionClosed as number));
}

/**
 * The first HubError in an error's cause chain: an injected fetch (the egress guard) throws
 * those, and its code should reach the caller instead of a generic "unavailable".
 */
export function hubErrorInChain(error: unknown): HubError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    if (isHubError(current)) return current;
    current = current.cause;
  }
  return undefined;
}
