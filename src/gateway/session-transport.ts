import type { IncomingHttpHeaders } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { isInitializeMessage, parseJsonRpcMessage } from '../core/index.js';
import { EventStream, type HttpReply } from './http-reply.js';
import { PostAnswer, type AnswerTiming } from './post-answer.js';

/** One HTTP request of a session, as the endpoint hands it over (a POST's body parsed already). */
export interface SessionRequest {
  method: string;
  /** The request's headers; those the message handlers may read are in `forwarded`. */
  headers: IncomingHttpHeaders;
  /** The headers the message handlers see (`requestInfo.headers`): never the caller's credentials. */
  forwarded: Readonly<Record<string, string | string[] | undefined>>;
  body?: unknown;
  authInfo?: AuthInfo | undefined;
}

/** What a session's transport is told about its life. */
export interface SessionTransportOptions extends AnswerTiming {
  /** The session's id, given to the client in the answer to its `initialize`. */
  sessionId: string;
  /** The `initialize` was accepted; awaited before the message is handled. */
  onInitialized?: () => Promise<void> | void;
  /** The client ended the session (DELETE); awaited before the transport closes. */
  onEnded?: () => Promise<void> | void;
}

/** The most messages one POST may carry. */
const MAX_BATCH = 100;

/** A response to a request (it has a result or an error), told apart without a schema parse: the SDK built it. */
function isResponse(message: JSONRPCMessage): message is JSONRPCMessage & { id: RequestId } {
  return 'result' in message || 'error' in message;
}

function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function isJsonMediaType(contentType: string | undefined): boolean {
  const type = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  return type === 'application/json';
}

/**
 * The hub's server side of MCP's streamable HTTP transport (spec 2025-11-25, "Transports") for one
 * downstream session, on Node's own request and response objects. It keeps what the SDK's
 * web-standard transport checks (Accept, Content-Type, session id, protocol version, one GET stream,
 * DELETE) and its JSON-RPC error shapes, and leaves the protocol to the SDK's `Server`. Unlike it, no
 * Fetch API `Request`, `Response` or web stream is made per message, and a POST whose requests
 * answer before anything else gets one JSON body instead of an SSE stream ({@link PostAnswer}).
 * Without an event store, streams are not resumable (no event ids, `Last-Event-ID` is ignored).
 */
export class SessionTransport implements Transport {
  sessionId: string | undefined;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  private started = false;
  private closed = false;
  /** The POSTs waiting for responses, by the ids of their requests. */
  private readonly answers = new Map<RequestId, PostAnswer>();
  /** The session's one GET stream, for messages related to no request. */
  private standalone: EventStream | undefined;

  constructor(private readonly options: SessionTransportOptions) {}

  async start(): Promise<void> {
    if (this.started) throw new Error('SessionTransport already started');
    this.started = true;
  }

  /** Serves one HTTP request of the session, writing its answer to `reply`. */
  async handle(request: SessionRequest, reply: HttpReply): Promise<void> {
    if (this.closed) return this.refuse(reply, 404, -32001, 'Session not found');
    if (request.method === 'POST') return this.post(request, reply);
    if (request.method === 'GET') return this.get(request, reply);
    if (request.method === 'DELETE') return this.delete(request, reply);
    reply.head(405, { allow: 'GET, POST, DELETE', 'content-type': 'application/json' });
    reply.end(
      JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null }),
    );
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const response = isResponse(message);
    const requestId = response ? message.id : options?.relatedRequestId;
    if (requestId === undefined) {
      if (response) throw new Error('A response cannot go on the standalone SSE stream');
      if (this.standalone?.open) this.standalone.send(message);
      return;
    }
    const answer = this.answers.get(requestId);
    if (answer === undefined)
      throw new Error(`No connection established for request ID: ${String(requestId)}`);
    if (!response) return answer.related(message);
    if (answer.respond(requestId, message) || !answer.open) this.release(answer);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const answer of new Set(this.answers.values())) answer.close();
    this.answers.clear();
    this.standalone?.end();
    this.standalone = undefined;
    this.onclose?.();
  }

  /** Ends the GET stream, if one is open (the client may open another). */
  closeStandaloneSSEStream(): void {
    this.standalone?.end();
    this.standalone = undefined;
  }

  private async post(request: SessionRequest, reply: HttpReply): Promise<void> {
    const accept = headerOf(request.headers, 'accept');
    if (!accept?.includes('application/json') || !accept.includes('text/event-stream'))
      return this.refuse(
        reply,
        406,
        -32000,
        'Not Acceptable: Client must accept both application/json and text/event-stream',
      );
    if (!isJsonMediaType(headerOf(request.headers, 'content-type')))
      return this.refuse(reply, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
    const body = request.body;
    if (Array.isArray(body) && body.length > MAX_BATCH)
      return this.refuse(reply, 400, -32600, `Invalid Request: Batch must not exceed ${MAX_BATCH} messages`);
    let messages: JSONRPCMessage[];
    try {
      messages = (Array.isArray(body) ? body : [body]).map(parseJsonRpcMessage);
    } catch {
      return this.refuse(reply, 400, -32700, 'Parse error: Invalid JSON-RPC message');
    }
    const initializing = messages.some(isInitializeMessage);
    if (initializing) {
      if (this.sessionId !== undefined)
        return this.refuse(reply, 400, -32600, 'Invalid Request: Server already initialized');
      if (messages.length > 1)
        return this.refuse(reply, 400, -32600, 'Invalid Request: Only one initialization request is allowed');
      this.sessionId = this.options.sessionId;
      await this.options.onInitialized?.();
    } else if (!this.acceptsSession(request, reply)) return;
    if (this.closed) return this.refuse(reply, 404, -32001, 'Session not found');
    const extra: MessageExtraInfo = {
      requestInfo: { headers: request.forwarded },
      ...(request.authInfo === undefined ? {} : { authInfo: request.authInfo }),
    };
    const ids = messages.flatMap((message) => ('method' in message && 'id' in message ? [message.id] : []));
    if (ids.length === 0) {
      for (const message of messages) this.onmessage?.(message, extra);
      reply.head(202, {});
      reply.end();
      return;
    }
    const answer = new PostAnswer(reply, ids, this.sessionId, this.options);
    for (const id of ids) this.answers.set(id, answer);
    reply.onGone(() => {
      answer.gone();
      this.release(answer);
    });
    for (const message of messages) this.onmessage?.(message, extra);
  }

  private get(request: SessionRequest, reply: HttpReply): void {
    if (!headerOf(request.headers, 'accept')?.includes('text/event-stream'))
      return this.refuse(reply, 406, -32000, 'Not Acceptable: Client must accept text/event-stream');
    if (!this.acceptsSession(request, reply)) return;
    if (this.standalone?.open)
      return this.refuse(reply, 409, -32000, 'Conflict: Only one SSE stream is allowed per session');
    const stream = new EventStream(reply, this.sessionId, this.options.keepAliveMs);
    this.standalone = stream;
    stream.start(true);
    reply.onGone(() => {
      stream.stop();
      if (this.standalone === stream) this.standalone = undefined;
    });
  }

  private async delete(request: SessionRequest, reply: HttpReply): Promise<void> {
    if (!this.acceptsSession(request, reply)) return;
    try {
      await this.options.onEnded?.();
      reply.head(200, {});
      reply.end();
    } finally {
      await this.close();
    }
  }

  /** Checks the session id and protocol version of a request after `initialize`; answers when they fail. */
  private acceptsSession(request: SessionRequest, reply: HttpReply): boolean {
    if (this.sessionId === undefined) {
      this.refuse(reply, 400, -32000, 'Bad Request: Server not initialized');
      return false;
    }
    const id = headerOf(request.headers, 'mcp-session-id');
    if (!id) {
      this.refuse(reply, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      return false;
    }
    if (id !== this.sessionId) {
      this.refuse(reply, 404, -32001, 'Session not found');
      return false;
    }
    const version = headerOf(request.headers, 'mcp-protocol-version');
    if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      const supported = SUPPORTED_PROTOCOL_VERSIONS.join(', ');
      this.refuse(
        reply,
        400,
        -32000,
        `Bad Request: Unsupported protocol version: ${version} (supported versions: ${supported})`,
      );
      return false;
    }
    return true;
  }

  /** Forgets an answer that ended or whose client went away. */
  private release(answer: PostAnswer): void {
    for (const id of answer.ids()) if (this.answers.get(id) === answer) this.answers.delete(id);
  }

  /** A JSON-RPC error answer with no id (the request was refused before any message was handled). */
  private refuse(reply: HttpReply, status: number, code: number, message: string): void {
    this.onerror?.(new Error(message));
    reply.head(status, { 'content-type': 'application/json' });
    reply.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
  }
}
