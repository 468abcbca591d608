import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { FORWARDABLE_REQUEST_HEADERS } from '../upstreams/index.js';

/**
 * The hub's side of the SDK's web-standard streamable HTTP transport (Fetch API `Request` and
 * `Response`): a Node request goes in, its answer is streamed back to the Node response, and a
 * stored message can be replayed into a session's transport with no HTTP request at all (how an
 * instance rebuilds a session another one created).
 */

/**
 * The request headers the transport reads (content negotiation, session, protocol version, resume,
 * DNS-rebinding checks), plus those a server's `requestHeaders` may forward. No others are copied:
 * the caller's bearer token and cookies never reach the transport or the handlers it calls.
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

/** The Node request as a Fetch API request, without its body (the endpoint has parsed it already). */
function webRequestOf(raw: IncomingMessage, origin: string): Request {
  const headers = new Headers();
  for (const name of TRANSPORT_HEADERS) {
    const value = raw.headers[name];
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const one of value) headers.append(name, one);
  }
  // The path only: the origin is the hub's own, whatever Host the client sent.
  return new Request(new URL(raw.url ?? '/', origin), { method: raw.method ?? 'GET', headers });
}

/** Waits until the response can take more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * How long a POST's SSE answer may stay silent before its headers go out alone. Until then they
 * wait for the first event and leave in the same write (most calls answer well within this), and
 * a quiet long call still tells its client promptly that the request was taken, before any
 * client-side header timeout.
 */
export const QUIET_POST_HEADERS_MS = 1_000;

/**
 * Writes a Fetch API response to the Node one, streaming its body (an SSE stream stays open until
 * the transport ends it). A client that goes away cancels the body, which is how the transport
 * learns that a stream is gone. A GET stream's headers go out at once (the client waits for them to
 * know the stream is open); a POST's go with its first event, or after {@link QUIET_POST_HEADERS_MS}.
 */
async function sendResponse(response: Response, res: ServerResponse, method: string): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  const body = response.body;
  if (body === null) {
    res.end();
    return;
  }
  const flushLater =
    method === 'POST' ? setTimeout(() => res.flushHeaders(), QUIET_POST_HEADERS_MS) : undefined;
  if (flushLater === undefined) res.flushHeaders();
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  res.on('close', cancel);
  try {
    for (;;) {
      // The transport's bodies are byte streams.
      const chunk = (await reader.read()) as { done: boolean; value?: Uint8Array };
      clearTimeout(flushLater);
      if (chunk.done || chunk.value === undefined || res.destroyed) break;
      if (!res.write(chunk.value)) await drained(res);
    }
  } catch {
    // the body failed or was cancelled: nothing more to send
  } finally {
    clearTimeout(flushLater);
    res.off('close', cancel);
    if (!res.writableEnded && !res.destroyed) res.end();
  }
  if (res.destroyed) await reader.cancel().catch(() => undefined);
}

/** Handles one HTTP request of a session: `body` is the parsed JSON body of a POST. */
export async function serveRequest(
  transport: WebStandardStreamableHTTPServerTransport,
  http: { raw: IncomingMessage; res: ServerResponse; body: unknown; authInfo: AuthInfo | undefined },
  origin: string,
): Promise<void> {
  const request = webRequestOf(http.raw, origin);
  const response = await transport.handleRequest(request, {
    ...(http.body === undefined ? {} : { parsedBody: http.body }),
    ...(http.authInfo === undefined ? {} : { authInfo: http.authInfo }),
  });
  await sendResponse(response, http.res, request.method);
}

/**
 * Passes one message to the transport as a POST of the session would carry it, and reads the whole
 * answer (a request's response ends its stream). `sessionId` is absent for `initialize`.
 */
export async function replayMessage(
  transport: WebStandardStreamableHTTPServerTransport,
  message: JSONRPCMessage,
  context: { origin: string; sessionId?: string; authInfo?: AuthInfo | undefined },
): Promise<{ status: number; body: string }> {
  const headers = new Headers({
    accept: 'application/json, text/event-stream',
    'content-type': 'application/json',
  });
  if (context.sessionId !== undefined) headers.set('mcp-session-id', context.sessionId);
  const request = new Request(new URL('/mcp', context.origin), { method: 'POST', headers });
  const response = await transport.handleRequest(request, {
    parsedBody: message,
    ...(context.authInfo === undefined ? {} : { authInfo: context.authInfo }),
  });
  return { status: response.status, body: await response.text() };
}
