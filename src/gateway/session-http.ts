import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { FORWARDABLE_REQUEST_HEADERS } from '../upstreams/index.js';
import { CollectedReply, NodeReply } from './http-reply.js';
import type { SessionTransport } from './session-transport.js';

/**
 * The two ways a message reaches a session's transport: a Node request of its client, answered on
 * the Node response, or a stored message replayed with its answer read whole from memory (how an
 * instance rebuilds a session another one created).
 */

/**
 * The request headers the message handlers may see (`requestInfo.headers`): the transport's own
 * (content negotiation, session, protocol version) plus those a server's `requestHeaders` may
 * forward. No others: the caller's bearer token and cookies never reach the handlers.
 */
const TRANSPORT_HEADERS: readonly string[] = [
  'accept',
  'content-type',
  'host',
  'origin',
  'last-event-id',
  'mcp-protocol-version',
  'mcp-session-id',
  ...FORWARDABLE_REQUEST_HEADERS,
];

function forwardedHeaders(raw: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const name of TRANSPORT_HEADERS) {
    const value = raw.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}

/**
 * How long a POST's answer may stay silent before its SSE headers go out alone. Until then it waits:
 * most calls answer well within this, as one JSON body; a quiet long call still tells its client
 * promptly that the request was taken, before any client-side header timeout.
 */
export const QUIET_POST_HEADERS_MS = 1_000;
/** The keep-alive period of the session's SSE streams. */
export const SSE_KEEP_ALIVE_MS = 15_000;

/** Handles one HTTP request of a session: `body` is the parsed JSON body of a POST. */
export async function serveRequest(
  transport: SessionTransport,
  http: { raw: IncomingMessage; res: ServerResponse; body: unknown; authInfo: AuthInfo | undefined },
): Promise<void> {
  const { raw } = http;
  await transport.handle(
    {
      method: raw.method ?? 'GET',
      headers: raw.headers,
      forwarded: forwardedHeaders(raw),
      body: http.body,
      authInfo: http.authInfo,
    },
    new NodeReply(http.res),
  );
}

/**
 * Passes one message to the transport as a POST of the session would carry it, and reads the whole
 * answer (a request's answer ends with its response). `sessionId` is absent for `initialize`.
 */
export async function replayMessage(
  transport: SessionTransport,
  message: JSONRPCMessage,
  context: { sessionId?: string; authInfo?: AuthInfo | undefined },
): Promise<{ status: number; body: string }> {
  const headers = {
    accept: 'application/json, text/event-stream',
    'content-type': 'application/json',
    ...(context.sessionId === undefined ? {} : { 'mcp-session-id': context.sessionId }),
  };
  const reply = new CollectedReply();
  await transport.handle(
    { method: 'POST', headers, forwarded: headers, body: message, authInfo: context.authInfo },
    reply,
  );
  return reply.done;
}
