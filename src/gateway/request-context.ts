import type { IncomingMessage } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import type { RegisteredServer } from '../registry/index.js';

/**
 * Who sent one HTTP request of a downstream session, as authenticated for that very request, and
 * (on a per-server endpoint) the server as the registry gave it to them for it. Handlers act as
 * this caller, never as whoever opened the session: a role change, a disabled account or a revoked
 * share takes effect on the next request of a session already open.
 */
export interface GatewayRequestContext {
  caller: Identity;
  /** The server of a per-server endpoint, looked up for this request; null on `/mcp`. */
  server: RegisteredServer | null;
}

/** A Node request as the SDK's transport reads it: `auth` becomes each message's `extra.authInfo`. */
export type AuthenticatedRequest = IncomingMessage & { auth?: AuthInfo };

/**
 * Keyed by the `AuthInfo` object the transport hands to each message's handler, so a context can
 * only come from {@link attachRequestContext}: nothing a client sends can name or forge one.
 */
const contexts = new WeakMap<AuthInfo, GatewayRequestContext>();

/** Makes `context` the one every JSON-RPC message of this HTTP request is handled with. */
export function attachRequestContext(raw: AuthenticatedRequest, context: GatewayRequestContext): void {
  // The bearer token stays out of it: handlers need the identity, never the credential.
  const info: AuthInfo = { token: '', clientId: context.caller.userId, scopes: [] };
  contexts.set(info, context);
  raw.auth = info;
}

/** The context of the HTTP request that carried the message a handler is answering. */
export function requestContextOf(extra: { authInfo?: AuthInfo | undefined }): GatewayRequestContext {
  const context = extra.authInfo === undefined ? undefined : contexts.get(extra.authInfo);
  // Every request reaches the transport through the endpoint, which attaches one; this is a bug guard.
  if (!context) throw new McpError(ErrorCode.InternalError, 'Request without an authenticated caller');
  return context;
}
