import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, JSONRPCRequest, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { type ChunkSource, DIRECT_BODY, type DirectBodyInit, bodyOf, cancelBody } from '../net/body-stage.js';
import { POSTED_ID, type PostedMessageInit } from './related-requests.js';
import { type SseEvent, SseEventReader } from './sse-event-reader.js';
import type { FetchLike } from './types.js';
import { streamCutResponse } from './unanswered-request.js';

/** How the standalone GET stream is reopened after it ends (a server may end it and expect that). */
export interface ReopenPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  growFactor: number;
  /** Tries in a row that may fail before the transport gives the stream up (and says so via onerror). */
  maxTries: number;
}

const DEFAULT_REOPEN: ReopenPolicy = {
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  growFactor: 1.5,
  maxTries: 2,
};

/**
 * Times one request's answer stream may be resumed. A server polling (SEP-1699: it ends the stream
 * after an event id and a `retry:`, and the client comes back with `Last-Event-ID`) resumes it once
 * per poll; the call's own time limit ends a longer wait first.
 */
const MAX_RESUMES = 1_000;

/** Same-origin 307/308 hops followed per request; a redirect to another origin is refused. */
const MAX_REDIRECTS = 5;

const ACCEPT_ANSWER = 'application/json, text/event-stream';

export interface StreamableHttpTransportOptions {
  url: URL;
  /** Sent on every request (POST, GET stream, DELETE): the server's configured headers. */
  headers: Readonly<Record<string, string>>;
  /** Every request goes through this (for the hub: the pass-through stage over the egress guard). */
  fetch: FetchLike;
  reopen?: ReopenPolicy;
}

/**
 * The client side of MCP's streamable HTTP transport (MCP 2025-06-18, "Transports" §2): each message
 * is POSTed, answered by a JSON body or an event stream; a session id from the server is sent back
 * on every later request; after `notifications/initialized` a GET opens the server's own stream
 * (405: the server has none), reopened with `Last-Event-ID` when it ends; `terminateSession` DELETEs
 * the session.
 *
 * The hub's own in place of the SDK's `StreamableHTTPClientTransport`, which piped every answer
 * through a `TextDecoderStream` and an `EventSourceParserStream` (two transform streams, four web
 * streams, built per call) and parsed each message twice (JSON, then the JSON-RPC schema the SDK's
 * protocol layer checks again anyway). Here an answer is read from its bytes once
 * ({@link SseEventReader}), each message is `JSON.parse`d once, and the protocol layer validates it.
 *
 * A request's answer stream that ends before the response, after an event id, is resumed: a GET
 * with `Last-Event-ID` (streamable HTTP, "Resumability and Redelivery"), again after each end, as a
 * polling server expects (SEP-1699). One that ends before any id cannot be resumed; the hub's
 * pass-through stage answers it in the upstream's place.
 */
export class StreamableHttpTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private readonly url: URL;
  /** The configured headers, names lower-cased so the transport's own replace them, not join them. */
  private readonly headers: Readonly<Record<string, string>>;
  private readonly fetch: FetchLike;
  private readonly reopenPolicy: ReopenPolicy;
  /** Aborts every request and stream of the transport; aborted by `close`. */
  private readonly abort = new AbortController();
  private session: string | undefined;
  private protocolVersion: string | undefined;
  private started = false;
  private closed = false;
  /** The standalone stream's last event id, sent as `Last-Event-ID` when it is reopened. */
  private streamEventId: string | undefined;
  /** The reconnection time the server asked for (`retry:`), in ms. */
  private serverRetryMs: number | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  /** Requests whose answer streams are read or waited for now: a cancelled one is not resumed. */
  private readonly awaited = new Set<RequestId>();
  /** Pending resumptions of requests' answer streams. */
  private readonly resumeTimers = new Set<NodeJS.Timeout>();

  constructor(options: StreamableHttpTransportOptions) {
    this.url = options.url;
    this.fetch = options.fetch;
    this.reopenPolicy = options.reopen ?? DEFAULT_REOPEN;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers)) headers[name.toLowerCase()] = value;
    this.headers = headers;
  }

  get sessionId(): string | undefined {
    return this.session;
  }

  start(): Promise<void> {
    if (this.started) return Promise.reject(new Error('the streamable HTTP transport was already started'));
    this.started = true;
    return Promise.resolve();
  }

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }

  async send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    // The caller gave up on a request (its timeout, or its own caller's cancel): its stream is not resumed.
    if ('method' in message && message.method === 'notifications/cancelled') {
      const cancelled = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      if (cancelled !== undefined) this.awaited.delete(cancelled);
    }
    try {
      await this.post(message);
    } catch (error) {
      this.onerror?.(asError(error));
      throw error;
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    clearTimeout(this.reopenTimer);
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
    this.awaited.clear();
    this.abort.abort();
    this.onclose?.();
    return Promise.resolve();
  }

  /** Ends the session on the server (DELETE); a 405 means the server does not let clients end it. */
  async terminateSession(): Promise<void> {
    if (this.session === undefined) return;
    try {
      const response = await this.exchange('DELETE', undefined);
      await cancelBody(response);
      if (!response.ok && response.status !== 405) throw httpError(response, 'ending the session failed');
      this.session = undefined;
    } catch (error) {
      this.onerror?.(asError(error));
      throw error;
    }
  }

  private async post(message: JSONRPCMessage): Promise<void> {
    const response = await this.exchange('POST', ACCEPT_ANSWER, message);
    const session = response.headers.get('mcp-session-id');
    if (session !== null && session !== '') this.session = session;
    if (!response.ok) {
      // The body is not read into the error: it is the upstream's text, and errors reach the log.
      await cancelBody(response);
      throw httpError(response, 'POST to the MCP endpoint failed');
    }
    if (response.status === 202 || !isRequest(message)) {
      await cancelBody(response);
      if (response.status === 202 && isInitialized(message)) void this.openStream().catch(() => undefined);
      return;
    }
    const type = mediaType(response.headers.get('content-type'));
    if (type === 'text/event-stream') {
      this.awaited.add(message.id);
      void this.readAnswer(bodyOf(response), message.id, undefined, 0);
    } else if (type === 'application/json') {
      this.deliver(await readText(bodyOf(response)));
    } else {
      await cancelBody(response);
      throw new StreamableHTTPError(-1, `unexpected content type of an answer: ${type || '(none)'}`);
    }
  }

  /** Opens the server's standalone event stream (GET). Throws, after `onerror`, when it cannot. */
  private async openStream(): Promise<void> {
    this.reopenTimer = undefined;
    try {
      const id = this.streamEventId;
      const response = await this.exchange('GET', 'text/event-stream', undefined, id);
      if (!response.ok) {
        await cancelBody(response);
        if (response.status === 405) return; // the server offers no standalone stream
        throw httpError(response, 'opening the event stream failed');
      }
      void this.readEvents(bodyOf(response));
    } catch (error) {
      this.onerror?.(asError(error));
      throw error;
    }
  }

  private reopenStream(failures: number): void {
    if (this.abort.signal.aborted) return;
    const policy = this.reopenPolicy;
    if (failures >= policy.maxTries) {
      this.onerror?.(new Error(`the event stream could not be reopened (${failures} tries)`));
      return;
    }
    this.reopenTimer = setTimeout(() => {
      this.openStream().catch(() => this.reopenStream(failures + 1));
    }, this.retryDelay(failures));
    this.reopenTimer.unref();
  }

  /** Reads the standalone stream to its end, then has it reopened. */
  private async readEvents(body: ChunkSource | null): Promise<void> {
    if (body === null) return;
    const events = new SseEventReader(this.sink(undefined), this.streamEventId);
    await this.readStream(body, events);
    // Also an id that came on an event without data (a priming event) is where the stream resumes.
    this.streamEventId = events.lastEventId;
    this.reopenStream(0);
  }

  /**
   * Reads the stream answering request `id` (a POST's, or a GET resuming it from `lastEventId`).
   * When it ends before the response, after an event id, it is resumed from there.
   */
  private async readAnswer(
    body: ChunkSource | null,
    id: RequestId,
    lastEventId: string | undefined,
    resumes: number,
  ): Promise<void> {
    if (body === null) {
      this.awaited.delete(id);
      return;
    }
    const answered = { done: false };
    const events = new SseEventReader(this.sink(answered, id), lastEventId);
    await this.readStream(body, events);
    const from = events.lastEventId;
    if (answered.done || from === undefined || this.abort.signal.aborted || !this.awaited.has(id)) {
      this.awaited.delete(id);
      return;
    }
    this.resumeAnswer(id, from, resumes, 0);
  }

  /** After the server's `retry` (or the reopen policy's delay), asks for the rest of `id`'s stream. */
  private resumeAnswer(id: RequestId, from: string, resumes: number, failures: number): void {
    const policy = this.reopenPolicy;
    if (resumes >= MAX_RESUMES || failures >= policy.maxTries) {
      // The answer will not come: the call fails now rather than at its timeout.
      this.awaited.delete(id);
      this.deliverMessage(streamCutResponse(id));
      return;
    }
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      if (!this.awaited.has(id)) return;
      this.exchange('GET', 'text/event-stream', undefined, from, id).then(
        async (response) => {
          if (!response.ok) {
            await cancelBody(response);
            this.resumeAnswer(id, from, resumes, failures + 1);
            return;
          }
          await this.readAnswer(bodyOf(response), id, from, resumes + 1);
        },
        () => {
          if (!this.abort.signal.aborted) this.resumeAnswer(id, from, resumes, failures + 1);
        },
      );
    }, this.retryDelay(failures));
    timer.unref();
    this.resumeTimers.add(timer);
  }

  /** How long to wait before coming back to the server: its `retry:`, else the reopen policy's backoff. */
  private retryDelay(failures: number): number {
    const policy = this.reopenPolicy;
    return (
      this.serverRetryMs ?? Math.min(policy.initialDelayMs * policy.growFactor ** failures, policy.maxDelayMs)
    );
  }

  /** Reads a stream to its end into `events`; a break is reported unless the transport closed. */
  private async readStream(body: ChunkSource, events: SseEventReader): Promise<void> {
    try {
      for (;;) {
        const read = await body.read();
        if (read.done) break;
        events.push(read.value);
      }
      events.end();
    } catch (error) {
      if (!this.abort.signal.aborted) this.onerror?.(new Error('event stream broke', { cause: error }));
    }
  }

  /** Where a stream's events go; with `answered`, it notes when the response to `id` came. */
  private sink(answered: { done: boolean } | undefined, id?: RequestId) {
    return {
      event: (event: SseEvent) => {
        if (event.type !== 'message' || event.data === '') return;
        this.deliver(event.data, (message) => {
          if (answered !== undefined && isResponseTo(message, id)) answered.done = true;
        });
      },
      retry: (ms: number) => (this.serverRetryMs = ms),
    };
  }

  /** Parses one answer (a message, or a batch of them) and hands each on, after `seen` looked at it. */
  private deliver(text: string, seen?: (message: object) => void): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      this.onerror?.(new Error('MCP server sent a message that is not JSON', { cause: error }));
      return;
    }
    for (const message of Array.isArray(parsed) ? (parsed as unknown[]) : [parsed]) {
      if (typeof message !== 'object' || message === null) {
        this.onerror?.(new Error('MCP server sent a message that is not a JSON-RPC object'));
        continue;
      }
      seen?.(message);
      this.deliverMessage(message as JSONRPCMessage);
    }
  }

  private deliverMessage(message: JSONRPCMessage): void {
    try {
      // The protocol layer checks the message against the JSON-RPC schemas before acting on it.
      this.onmessage?.(message);
    } catch (error) {
      this.onerror?.(asError(error));
    }
  }

  /**
   * One request, with the session's headers, following same-origin 307/308 redirects (the hub's
   * egress guard checks each hop). A redirect elsewhere is not followed: the configured headers may
   * be credentials for this server only.
   */
  private async exchange(
    method: 'POST' | 'GET' | 'DELETE',
    accept: string | undefined,
    posted?: JSONRPCMessage,
    lastEventId?: string,
    resumedFor?: RequestId,
  ): Promise<Response> {
    const body = posted === undefined ? undefined : JSON.stringify(posted);
    const headers: Record<string, string> = { ...this.headers };
    if (this.session !== undefined) headers['mcp-session-id'] = this.session;
    if (this.protocolVersion !== undefined) headers['mcp-protocol-version'] = this.protocolVersion;
    if (accept !== undefined) headers.accept = accept;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
    let url = this.url;
    for (let hops = 0; ; hops += 1) {
      // The body is read here, chunk by chunk (bodyOf): no web stream is needed for it.
      const init: PostedMessageInit & DirectBodyInit = {
        method,
        headers,
        redirect: 'manual',
        signal: this.abort.signal,
        [DIRECT_BODY]: true,
      };
      if (posted !== undefined && body !== undefined) {
        init.body = body;
        init[POSTED_ID] = isRequest(posted) ? posted.id : undefined;
      }
      // A GET resuming a request's stream answers that request, as its POST did.
      if (resumedFor !== undefined) init[POSTED_ID] = resumedFor;
      const response = await this.fetch(url, init);
      const location =
        response.status === 307 || response.status === 308 ? response.headers.get('location') : null;
      if (location === null) return response;
      await cancelBody(response);
      const next = URL.canParse(location, url.href) ? new URL(location, url) : undefined;
      // The target is not named: its query may carry a key.
      if (next === undefined || next.origin !== url.origin)
        throw new StreamableHTTPError(response.status, 'redirect to another origin not followed');
      if (hops >= MAX_REDIRECTS) throw new StreamableHTTPError(response.status, 'too many redirects');
      url = next;
    }
  }
}

function isRequest(message: JSONRPCMessage): message is JSONRPCRequest {
  return 'method' in message && 'id' in message && message.id !== undefined;
}

/** A response (result or error) to request `id`. */
function isResponseTo(message: object, id: RequestId | undefined): boolean {
  return 'id' in message && message.id === id && ('result' in message || 'error' in message);
}

function isInitialized(message: JSONRPCMessage): boolean {
  return 'method' in message && message.method === 'notifications/initialized' && !('id' in message);
}

function mediaType(value: string | null): string {
  if (value === null) return '';
  const semicolon = value.indexOf(';');
  return (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
}

function httpError(response: Response, what: string): StreamableHTTPError {
  return new StreamableHTTPError(response.status, `${what}: HTTP ${response.status}`);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** A whole body as UTF-8 text: its chunks joined once (none when it came in one). */
async function readText(body: ChunkSource | null): Promise<string> {
  if (body === null) return '';
  const chunks: Uint8Array[] = [];
  for (;;) {
    const read = await body.read();
    if (read.done) break;
    chunks.push(read.value);
  }
  const only = chunks.length === 1 ? chunks[0] : undefined;
  if (only !== undefined) return Buffer.from(only.buffer, only.byteOffset, only.byteLength).toString('utf8');
  return Buffer.concat(chunks).toString('utf8');
}
