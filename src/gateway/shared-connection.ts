import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { parseConnectionKey } from '../upstreams/index.js';

/**
 * True for the one connection of an app-level server that every user's requests share; false for a
 * user's own (user-level server) or one session's own (session-bound). State a request sets on a
 * connection, such as its log level (MCP `logging/setLevel` sets it for the session), would change
 * what every user hears on a shared one. An unreadable key counts as shared: nothing is set on it.
 */
export function isSharedConnection(key: string): boolean {
  const parts = parseConnectionKey(key);
  return parts === null || (parts.scope === 'app' && parts.sessionId === null);
}

/** The JSON-RPC error for a `logging/setLevel` on a shared connection (REST answers 409 `shared-connection`). */
export function sharedLogLevelError(serverName: string): McpError {
  return new McpError(
    ErrorCode.InvalidRequest,
    `MCP server '${serverName}' has one connection shared by every user; its log level cannot be set per user`,
    { reason: 'shared-connection' },
  );
}
