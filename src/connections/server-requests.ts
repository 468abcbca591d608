import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  ElicitationCompleteNotificationSchema,
  ElicitRequestSchema,
  ErrorCode,
  ListRootsRequestSchema,
  McpError,
  type ClientCapabilities,
  type ElicitationCompleteNotification,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';

/** A request an upstream server sent the hub's client: sampling, elicitation or roots. */
export interface UpstreamServerRequest {
  method: string;
  params: Record<string, unknown> | undefined;
}

/**
 * Answers one server→client request on behalf of the downstream client of a call (its result), or
 * rejects (an `McpError` is relayed to the upstream as is) when that client cannot.
 */
export type ServerRequestHandler = (
  request: UpstreamServerRequest,
  signal: AbortSignal,
) => Promise<Record<string, unknown>>;

/** Hears `notifications/elicitation/complete` for a URL elicitation this call's client was sent. */
export type ElicitationCompleteHandler = (params: ElicitationCompleteNotification['params']) => void;

/** One call in flight that can take server→client requests. */
interface Channel {
  readonly handle: ServerRequestHandler;
  /** Stops the call's timeout while its client answers; returns the release. */
  readonly hold: () => () => void;
  readonly onElicitationComplete: ElicitationCompleteHandler | undefined;
  /** Our JSON-RPC id of the call, once the transport sent it. */
  requestId: RequestId | undefined;
}

/** A server→client request's destination. */
export interface RoutedRequest {
  handle: ServerRequestHandler;
  /** Stops the call's timeout while its client answers; returns the release. */
  hold: () => () => void;
  /** The request is a URL elicitation: its later completion notice goes to the same client. */
  expectElicitationComplete(elicitationId: string): void;
}

/**
 * Where a connection bound to one downstream session sends the server→client requests no call in
 * flight claims (roots/list at the upstream's start, a request while several calls run): that
 * session's client is the only one it can be for.
 */
export interface SessionChannel {
  handle: ServerRequestHandler;
  onElicitationComplete?: ElicitationCompleteHandler;
}

/** Bounds on bookkeeping a misbehaving upstream could grow. */
const MAX_RELATED = 1_000;
const MAX_PENDING_ELICITATIONS = 1_000;

/**
 * Decides which call in flight a server→client request belongs to, on a connection shared by many
 * downstream sessions (and, for app-level servers, many users). Never a guess among several:
 * - a request the upstream sent on the HTTP stream answering one of our calls is that call's
 *   (see related-requests.ts);
 * - otherwise (stdio, or an unrelated stream) it goes to the one call in flight that takes such
 *   requests, and to none when there are several or none;
 * - on a connection bound to one downstream session, every request no call claims goes to that
 *   session (`session`): nothing is left to guess.
 */
export class ServerRequestRouter {
  private readonly open = new Set<Channel>();
  private readonly byTag = new Map<unknown, Channel>();
  private readonly byRequestId = new Map<RequestId, Channel>();
  /** Upstream request id → our call's request id, learned from the HTTP stream it came on. */
  private readonly related = new Map<RequestId, RequestId>();
  private readonly elicitations = new Map<string, ElicitationCompleteHandler>();

  constructor(private readonly session?: SessionChannel) {}

  /**
   * Opens a channel for a call about to be sent. `tag` must reach {@link requestSent} with the
   * call's JSON-RPC message (it rides as the SDK's per-request `onresumptiontoken`, the one
   * per-request value the SDK hands its transport). Returns the function that closes it.
   */
  begin(
    tag: (token: string) => void,
    handle: ServerRequestHandler,
    onElicitationComplete?: ElicitationCompleteHandler,
    hold: () => () => void = () => () => undefined,
  ): () => void {
    const channel: Channel = { handle, hold, onElicitationComplete, requestId: undefined };
    this.open.add(channel);
    this.byTag.set(tag, channel);
    return () => {
      this.open.delete(channel);
      this.byTag.delete(tag);
      if (channel.requestId !== undefined) this.byRequestId.delete(channel.requestId);
    };
  }

  /**
   * Answers the server→client requests the declared capabilities allow (sampling, elicitation,
   * roots) by passing each to the call it belongs to. True when there are any to answer.
   */
  installOn(client: Client, capabilities: ClientCapabilities): boolean {
    const relay = (
      request: { method: string; params?: Record<string, unknown> | undefined },
      extra: { requestId: RequestId; signal: AbortSignal },
    ) => this.answer(request, extra);
    if (capabilities.sampling) client.setRequestHandler(CreateMessageRequestSchema, relay);
    if (capabilities.elicitation) client.setRequestHandler(ElicitRequestSchema, relay);
    if (capabilities.roots) client.setRequestHandler(ListRootsRequestSchema, relay);
    if (capabilities.elicitation?.url) {
      client.setNotificationHandler(ElicitationCompleteNotificationSchema, (notification) =>
        this.elicitationComplete(notification.params),
      );
    }
    return Boolean(capabilities.sampling ?? capabilities.elicitation ?? capabilities.roots);
  }

  /** The transport is sending our request `id` with the given per-request tag. */
  requestSent(id: RequestId, tag: unknown): void {
    const channel = this.byTag.get(tag);
    if (!channel) return;
    channel.requestId = id;
    this.byRequestId.set(id, channel);
  }

  /** The upstream's request `serverRequestId` arrived on the stream of our request `clientRequestId`. */
  relate(serverRequestId: RequestId, clientRequestId: RequestId): void {
    if (this.related.size >= MAX_RELATED) this.related.clear();
    this.related.set(serverRequestId, clientRequestId);
  }

  /** Where the upstream's request `serverRequestId` goes, or undefined when nobody can be told. */
  route(serverRequestId: RequestId): RoutedRequest | undefined {
    const related = this.related.get(serverRequestId);
    let channel: Channel | undefined;
    if (related !== undefined) {
      this.related.delete(serverRequestId);
      channel = this.byRequestId.get(related); // that call may have ended: then nobody, not a guess
    } else if (this.open.size === 1) {
      [channel] = this.open;
    }
    const target = channel ?? this.session;
    if (!target) return undefined;
    const sink = target.onElicitationComplete;
    return {
      handle: target.handle,
      hold: channel?.hold ?? (() => () => undefined),
      expectElicitationComplete: (elicitationId) => {
        if (!sink) return;
        if (this.elicitations.size >= MAX_PENDING_ELICITATIONS) this.elicitations.clear();
        this.elicitations.set(elicitationId, sink);
      },
    };
  }

  /** One server→client request: the answer of the call's client, or a refusal when there is none. */
  private async answer(
    request: { method: string; params?: Record<string, unknown> | undefined },
    extra: { requestId: RequestId; signal: AbortSignal },
  ): Promise<Record<string, unknown>> {
    const route = this.route(extra.requestId);
    if (!route) {
      // A shared connection's roots are nobody's in particular outside a single call.
      if (request.method === 'roots/list') return { roots: [] };
      throw new McpError(
        ErrorCode.InvalidRequest,
        `Switchboard cannot tell which of its clients ${request.method} is for (no single call in flight on this connection)`,
      );
    }
    const params = request.params;
    if (params?.mode === 'url' && typeof params.elicitationId === 'string')
      route.expectElicitationComplete(params.elicitationId);
    // While the client answers (a person, a model), the call's own timeout stands still.
    const release = route.hold();
    try {
      return await route.handle({ method: request.method, params }, extra.signal);
    } finally {
      release();
    }
  }

  /** The upstream announced an elicitation complete: tell the client that was sent it, once. */
  elicitationComplete(params: ElicitationCompleteNotification['params']): void {
    const sink = this.elicitations.get(params.elicitationId);
    if (!sink) return;
    this.elicitations.delete(params.elicitationId);
    sink(params);
  }
}

/**
 * Passes everything through to `inner`, telling `onRequestSent` the id and per-request tag of each
 * JSON-RPC request it sends (how {@link ServerRequestRouter} learns a call's id).
 */
export class RequestTaggingTransport implements Transport {
  constructor(
    readonly inner: Transport,
    private readonly onRequestSent: (id: RequestId, tag: unknown) => void,
  ) {}

  get onclose(): Transport['onclose'] {
    return this.inner.onclose;
  }
  set onclose(handler: Transport['onclose']) {
    this.inner.onclose = handler;
  }
  get onerror(): Transport['onerror'] {
    return this.inner.onerror;
  }
  set onerror(handler: Transport['onerror']) {
    this.inner.onerror = handler;
  }
  get onmessage(): Transport['onmessage'] {
    return this.inner.onmessage;
  }
  set onmessage(handler: Transport['onmessage']) {
    this.inner.onmessage = handler;
  }
  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const tag = options?.onresumptiontoken;
    if (tag !== undefined && 'method' in message && 'id' in message) this.onRequestSent(message.id, tag);
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }
}
