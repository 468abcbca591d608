import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import type { CallToolOptions } from '../connections/index.js';
import { HubError, isHubError } from '../errors/index.js';
import type { RegisteredServer } from '../registry/index.js';
import {
  withCallHeaders,
  type CallHeaders,
  type ConnectionProfile,
  type UpstreamService,
} from '../upstreams/index.js';

/** JSON-RPC errors that mean the connection failed, not that the upstream refused the call. */
const TRANSPORT_FAILURES: readonly number[] = [ErrorCode.RequestTimeout, ErrorCode.ConnectionClosed];

/** Options for one tool call. */
export interface ToolCallOptions extends Pick<
  CallToolOptions,
  'signal' | 'onProgress' | 'onLog' | 'onServerRequest' | 'onElicitationComplete' | 'meta'
> {
  /** Which of the caller's connections (default `rest`); `relay` for MCP sessions. */
  profile?: ConnectionProfile;
  /**
   * Allowlisted headers of the request that made the call (`forwardableHeaders`): a server's
   * `requestHeaders` are filled from them on this call's upstream requests only.
   */
  callHeaders?: CallHeaders;
}

/**
 * Calls a tool as the caller. An error the upstream reports about the call itself (bad arguments,
 * unknown tool) comes back as a tool error result, as MCP clients expect; only the hub's own failures
 * (unreachable, timeout, missing values) are thrown as HubErrors.
 */
export async function callTool(
  upstreams: UpstreamService,
  caller: Identity,
  server: RegisteredServer,
  toolName: string,
  args: Record<string, unknown>,
  options: ToolCallOptions = {},
): Promise<CallToolResult> {
  const { profile, callHeaders, ...callOptions } = options;
  // Connecting stays outside the call's scope: a connection opened here outlives the call, and its
  // initialize and standalone stream must not carry this caller's headers.
  const { connection } = await upstreams.connect(caller, server, profile);
  try {
    return await withCallHeaders(server.config, callHeaders, () =>
      connection.callTool(toolName, args, callOptions),
    );
  } catch (err) {
    if (isHubError(err)) throw err;
    if (err instanceof McpError && !TRANSPORT_FAILURES.includes(err.code)) {
      return { content: [{ type: 'text', text: err.message }], isError: true };
    }
    throw new HubError('HUB_ERR_UPSTREAM_UNAVAILABLE', { cause: err });
  }
}
