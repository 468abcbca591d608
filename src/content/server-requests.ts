import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { Identity } from '../auth/index.js';
import { HubError, isHubError } from '../errors/index.js';
import type { RegisteredServer } from '../registry/index.js';
import { withCallHeaders, type CallHeaders, type UpstreamService } from '../upstreams/index.js';

/** Server capabilities (MCP 2025-11-25 lifecycle, capability negotiation) a content request needs. */
export type ServerFeature = 'resources' | 'prompts' | 'completions' | 'logging';

/** JSON-RPC errors that mean the connection failed, not that the upstream refused the request. */
const TRANSPORT_FAILURES: readonly number[] = [ErrorCode.RequestTimeout, ErrorCode.ConnectionClosed];

/** The longest upstream error message passed on to the caller. */
const MAX_UPSTREAM_MESSAGE = 1_000;

/** One caller's request to one server: who asks, of which server, and what cancels it. */
export interface ServerTarget {
  upstreams: UpstreamService;
  caller: Identity;
  /** The server as the registry gives it to the caller now (access already decided). */
  server: RegisteredServer;
  /** Cancels the upstream request (the caller hung up); the upstream is sent `notifications/cancelled`. */
  signal?: AbortSignal;
  /** Allowlisted headers of the calling request, for the server's `requestHeaders` (as a tool call). */
  callHeaders?: CallHeaders;
}

/**
 * Sends one request to the server on the caller's REST connection, once the server has said it
 * offers `feature`, and checks the result's shape. The connection's request timeout, total bound
 * and result size limit apply as they do to a tool call. An upstream's JSON-RPC error becomes
 * HUB_ERR_UPSTREAM_REFUSED with its code and message; the hub's own failures keep their codes.
 */
export async function requestFromServer<T>(
  target: ServerTarget,
  feature: ServerFeature,
  method: string,
  params: Record<string, unknown> | undefined,
  resultSchema: z.ZodType<T>,
): Promise<T> {
  const { connection } = await target.upstreams.connect(target.caller, target.server);
  if (connection.capabilities?.[feature] === undefined) {
    throw new HubError('HUB_ERR_CAPABILITY_UNSUPPORTED', {
      message: `MCP server '${target.server.name}' does not offer ${feature}`,
      details: { capability: feature },
    });
  }
  let result: Record<string, unknown>;
  try {
    result = await withCallHeaders(target.server.config, target.callHeaders, () =>
      connection.forward(method, params, target.signal ? { signal: target.signal } : {}),
    );
  } catch (err) {
    throw refusalOrFailure(err);
  }
  const checked = resultSchema.safeParse(result);
  if (!checked.success) {
    throw new HubError('HUB_ERR_UPSTREAM_UNAVAILABLE', {
      message: `MCP server sent an invalid ${method} result`,
      cause: checked.error,
    });
  }
  return checked.data;
}

/** The error a failed forward is answered with. */
function refusalOrFailure(err: unknown): HubError {
  if (isHubError(err)) return err;
  if (err instanceof McpError && !TRANSPORT_FAILURES.includes(err.code)) {
    // The upstream's answer to this caller's own request: its code and words are meant for the client.
    return new HubError('HUB_ERR_UPSTREAM_REFUSED', {
      cause: err,
      details: { upstreamError: { code: err.code, message: err.message.slice(0, MAX_UPSTREAM_MESSAGE) } },
    });
  }
  return new HubError('HUB_ERR_UPSTREAM_UNAVAILABLE', { cause: err });
}
