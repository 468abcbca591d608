import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  LoggingMessageNotificationSchema,
  McpError,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ResultSchema,
  ToolListChangedNotificationSchema,
  type LoggingMessageNotification,
  type CallToolResult,
  type ClientCapabilities,
  type Implementation,
  type ServerCapabilities,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { RequestSignal } from '../core/index.js';
import { HubError, isHubError } from '../errors/index.js';
import type { Logger } from '../observability/index.js';
import { CallTimer } from './call-timer.js';
import { StreamableHttpTransport } from './streamable-http-transport.js';
import { runAsTask } from './task-call.js';
import type { RelatedRequestListener } from './related-requests.js';
import {
  RequestTaggingTransport,
  ServerRequestRouter,
  type ElicitationCompleteHandler,
  type ServerRequestHandler,
  type SessionChannel,
} from './server-requests.js';
import type { ToolProgress } from './types.js';
import {
  abortReason,
  hubErrorInChain,
  toConnectError,
  toRequestError,
  upstreamHttpStatus,
} from './upstream-errors.js';

/** How the hub introduces itself to upstream servers unless told otherwise. */
export const DEFAULT_CLIENT_INFO: Implementation = { name: 'switchboard', version: '0.1.0' };

/** Why a connection ended: `closed` by its owner, or `dropped` by the upstream or a fault. */
export type CloseReason = 'closed' | 'dropped';

/** What a transport reports back to its connection. */
export interface TransportHooks {
  /** An upstream failure the transport itself does not act on. */
  onFault: (error: Error) => void;
  /**
   * HTTP transports: a server→client request arrived on the stream answering one of our requests.
   * Set only for a connection that takes such requests.
   */
  onRelatedRequest?: RelatedRequestListener;
}

/** Everything an {@link UpstreamConnection} is built from. */
export interface UpstreamConnectionInit {
  /** Builds the transport, which reports through `hooks`. */
  makeTransport: (hooks: TransportHooks) => Transport;
  /** Default timeout of one request: restarted by progress, paused while the client answers the upstream (see CallTimer). */
  requestTimeoutMs: number;
  /**
   * Total bound of one request (`maxCallDuration`) that neither progress nor a pause extends, so a
   * server that keeps reporting progress cannot hold a call, and its connection, forever. None: unbounded.
   */
  maxCallDurationMs?: number;
  logger: Logger;
  clientInfo?: Implementation;
  /**
   * Capabilities the hub declares. None by default: servers such as server-everything expose
   * extra tools to clients that declare sampling, elicitation or roots, and the REST tool list
   * must not offer tools the hub cannot serve. Declared sampling, elicitation and roots requests
   * go to the `onServerRequest` of the call they belong to (see {@link ServerRequestRouter}).
   */
  capabilities?: ClientCapabilities;
  /** A connection bound to one downstream session: where requests no call claims go. */
  session?: SessionChannel;
  /** The upstream announced `notifications/tools/list_changed`. */
  onToolsChanged?: () => void;
  /**
   * The upstream announced `notifications/resources/updated` (a subscribed URI, as the upstream
   * names it) or `notifications/resources/list_changed` (no URI).
   */
  onResourcesChanged?: (updatedUri: string | undefined) => void;
  /** The upstream announced `notifications/prompts/list_changed`. */
  onPromptsChanged?: () => void;
  /**
   * A log message (`notifications/message`) no one request claims: none in flight asked for logs, or
   * several did (a notification names no request, so it is never guessed onto one of them).
   */
  onLog?: (params: LoggingMessageNotification['params']) => void;
  /** The connection ended (once, and only for a connection that had opened). */
  onClosed?: (reason: CloseReason, error: Error | undefined) => void;
  /** A request started or ended (idle tracking). */
  onActivity?: () => void;
}

/** Options of one request. */
export interface RequestCallOptions {
  /** Aborts the request; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Overrides the connection's default request timeout; still reset by progress. */
  timeoutMs?: number;
  /**
   * Receives the upstream's log notifications while this request is in flight, when it is the only
   * request in flight that asked for them: a notification on a shared connection names no request,
   * so it is never guessed onto one of several.
   */
  onLog?: (params: LoggingMessageNotification['params']) => void;
  /**
   * Answers the upstream's sampling, elicitation and roots requests that belong to this request
   * (on a connection that declared those capabilities). Without it, such a request is refused.
   */
  onServerRequest?: ServerRequestHandler;
  /** Hears the completion of a URL elicitation `onServerRequest` passed on (maybe after the call). */
  onElicitationComplete?: ElicitationCompleteHandler;
}

/** Options of one tool call. */
export interface CallToolOptions extends RequestCallOptions {
  onProgress?: (progress: ToolProgress) => void;
  /** A bound progress cannot extend; the connection's `maxCallDurationMs` by default. */
  maxTotalTimeoutMs?: number;
  /** The call's `_meta` (MCP 2025-11-25); a `progressToken` in it is replaced by the connection's own. */
  meta?: Record<string, unknown>;
}

/** The largest delay a Node timer takes: the SDK's per-request timer, never meant to fire. */
const NO_SDK_TIMEOUT = 2_147_483_647;
/** Bound on `tools/list` pages, against an upstream whose cursors never end. */
const MAX_TOOL_PAGES = 100;
/** How long a clean close waits for the upstream to acknowledge ending the session. */
const END_SESSION_WAIT_MS = 1_000;

function requestTimedOut(): McpError {
  return new McpError(ErrorCode.RequestTimeout, 'Request timed out');
}

/** The error of a request cut off by its total bound: it names the setting, so an admin knows what to raise. */
function callTooLong(maxTotalMs: number | undefined): HubError {
  return new HubError('HUB_ERR_UPSTREAM_TIMEOUT', {
    message: `MCP server call exceeded maxCallDuration (${String(maxTotalMs)} ms) and was cancelled`,
    details: { limit: 'maxCallDuration', limitMs: maxTotalMs },
  });
}

/**
 * One live MCP client session with an upstream server: an SDK `Client` over one transport.
 * Created connected by {@link UpstreamConnection.open}; once closed (by its owner or because the
 * upstream went away) it stays closed, and every request rejects with HUB_ERR_UPSTREAM_UNAVAILABLE.
 */
export class UpstreamConnection {
  private readonly client: Client;
  private readonly init: UpstreamConnectionInit;
  private readonly transport: Transport;
  private connectAbort: AbortController | undefined;
  private opened = false;
  private closedFlag = false;
  private closeReason: CloseReason | undefined;
  private dropError: Error | undefined;
  private closing: Promise<void> | undefined;
  private inFlightCount = 0;
  private readonly logSinks = new Set<NonNullable<RequestCallOptions['onLog']>>();
  private readonly router: ServerRequestRouter;
  /** Tools of the latest listing that run only as tasks (MCP 2025-11-25 `execution.taskSupport`); none before one. */
  private taskTools: Set<string> | undefined;

  private constructor(init: UpstreamConnectionInit) {
    this.init = init;
    this.router = new ServerRequestRouter(init.session);
    const capabilities = init.capabilities ?? {};
    this.client = new Client(init.clientInfo ?? DEFAULT_CLIENT_INFO, { capabilities });
    this.client.onclose = () => this.onClientClosed();
    this.client.onerror = (error) =>
      init.logger.debug({ err: error }, 'upstream transport reported an error');
    this.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      if (!this.closedFlag) init.onToolsChanged?.();
    });
    this.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      if (!this.closedFlag) init.onResourcesChanged?.(notification.params.uri);
    });
    this.client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
      if (!this.closedFlag) init.onResourcesChanged?.(undefined);
    });
    this.client.setNotificationHandler(PromptListChangedNotificationSchema, () => {
      if (!this.closedFlag) init.onPromptsChanged?.();
    });
    this.client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      if (this.logSinks.size !== 1) {
        if (!this.closedFlag) init.onLog?.(notification.params);
        return;
      }
      for (const sink of this.logSinks) sink(notification.params);
    });
    const relays = this.router.installOn(this.client, capabilities);
    const transport = init.makeTransport({
      onFault: (error) => this.fault(error),
      ...(relays ? { onRelatedRequest: (server, ours) => this.router.relate(server, ours) } : {}),
    });
    this.transport = relays
      ? new RequestTaggingTransport(transport, (id, tag) => this.router.requestSent(id, tag))
      : transport;
  }

  /**
   * Connects and initializes within `timeoutMs` (transport start included, which the SDK's own
   * request timeout does not cover). On failure everything started is closed again.
   */
  static async open(
    init: UpstreamConnectionInit,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<UpstreamConnection> {
    let connection: UpstreamConnection;
    try {
      connection = new UpstreamConnection(init);
    } catch (error) {
      throw toConnectError(error); // the transport could not even be built
    }
    await connection.connect(timeoutMs, signal);
    return connection;
  }

  /** What the upstream says it is (`initialize` result). */
  get serverInfo(): Implementation | undefined {
    return this.client.getServerVersion();
  }

  /** The upstream's capabilities (`initialize` result). */
  get capabilities(): ServerCapabilities | undefined {
    return this.client.getServerCapabilities();
  }

  /** The upstream's instructions for models, if it gave any. */
  get instructions(): string | undefined {
    return this.client.getInstructions();
  }

  /** True once the connection has ended, for whatever reason. */
  get closed(): boolean {
    return this.closedFlag || this.closing !== undefined;
  }

  /** Requests in flight. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /**
   * Every tool of the upstream the hub can call, following `nextCursor` (at most
   * {@link MAX_TOOL_PAGES} pages). Tools that can only run as tasks (MCP 2025-11-25
   * `execution.taskSupport: "required"`) are remembered: {@link callTool} runs them as tasks.
   */
  async listTools(options: RequestCallOptions = {}): Promise<Tool[]> {
    const tools: Tool[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page += 1) {
      const params = cursor === undefined ? undefined : { cursor };
      const result = await this.request((sdk) => this.client.listTools(params, sdk), options);
      tools.push(...result.tools);
      cursor = result.nextCursor;
      if (cursor === undefined) return this.noteTaskTools(tools);
      if (seen.has(cursor)) break; // a cursor seen before: the upstream is looping
      seen.add(cursor);
    }
    this.init.logger.warn({ tools: tools.length }, 'upstream tools/list pagination cut short');
    return this.noteTaskTools(tools);
  }

  private noteTaskTools(tools: Tool[]): Tool[] {
    const required = tools.filter((tool) => tool.execution?.taskSupport === 'required');
    this.taskTools = new Set(required.map((tool) => tool.name));
    return tools;
  }

  /**
   * Calls a tool. The timeout (default: the connection's) restarts at every progress
   * notification; a progress token is always sent so long operations can keep the call alive.
   * A tool failure the upstream reports as `isError` resolves; see `toRequestError` for rejections.
   * A tool that runs only as a task is called as one and awaited (see `runAsTask`).
   */
  async callTool(
    name: string,
    args: Record<string, unknown>,
    options: CallToolOptions = {},
  ): Promise<CallToolResult> {
    const params = { name, arguments: args, ...(options.meta === undefined ? {} : { _meta: options.meta }) };
    // A connection opened without a listing (bound to one session, say) lists once to know its task tools.
    if (this.taskTools === undefined)
      await this.listTools(options.signal ? { signal: options.signal } : {}).catch(() => undefined);
    if (this.taskTools?.has(name) === true)
      return this.request((sdk, timer) => runAsTask(this.client, params, sdk, timer), options);
    const onProgress = options.onProgress;
    const result = await this.request(
      (sdk, timer) =>
        this.client.callTool(params, undefined, {
          ...sdk,
          onprogress: (progress) => {
            timer.touch();
            onProgress?.(progress);
          },
        }),
      options,
    );
    // With the default result schema the SDK always yields `content`; the union type also
    // covers the pre-2024 `toolResult` shape, which that schema never produces.
    if (!('content' in result))
      throw new HubError('HUB_ERR_UPSTREAM_UNAVAILABLE', {
        message: 'MCP server sent an invalid tool result',
      });
    return result as CallToolResult;
  }

  /**
   * Sends any client→server request as is and returns the upstream's result unvalidated beyond the
   * JSON-RPC result shape: what the gateway needs to relay resources, prompts, completions and
   * logging, and what the per-server endpoint needs to proxy everything else. Progress restarts the
   * timeout; `onProgress` sees it.
   */
  async forward(
    method: string,
    params: Record<string, unknown> | undefined,
    options: CallToolOptions = {},
  ): Promise<Record<string, unknown>> {
    const onProgress = options.onProgress;
    return this.request(
      (sdk, timer) =>
        this.client.request({ method, ...(params === undefined ? {} : { params }) }, ResultSchema, {
          ...sdk,
          ...(onProgress
            ? {
                onprogress: (progress: ToolProgress) => {
                  timer.touch();
                  onProgress(progress);
                },
              }
            : {}),
        }),
      options,
    );
  }

  /** Tells the upstream its client's roots changed (declared with `roots.listChanged` only). */
  async sendRootsListChanged(): Promise<void> {
    if (!this.closed && this.init.capabilities?.roots?.listChanged === true)
      await this.client.sendRootsListChanged();
  }

  /**
   * Ends the session (streamable HTTP: DELETE, best effort) and closes the transport, which
   * rejects every request still in flight. Idempotent.
   */
  close(): Promise<void> {
    return this.shutdown('closed');
  }

  private async connect(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    const abort = new AbortController();
    this.connectAbort = abort;
    const timer = setTimeout(
      () =>
        abort.abort(
          new HubError('HUB_ERR_UPSTREAM_TIMEOUT', {
            message: 'MCP server did not finish connecting in time',
          }),
        ),
      timeoutMs,
    );
    const onOuterAbort = (): void => abort.abort(signal === undefined ? undefined : abortReason(signal));
    signal?.addEventListener('abort', onOuterAbort, { once: true });
    try {
      if (signal?.aborted === true) throw abortReason(signal);
      // No signal for the SDK: MCP forbids cancelling `initialize`, and on a fault the cancel
      // would be one more request to a dead server. Closing the client ends it instead. The
      // SDK's own timeout is set past ours so ours decides.
      await untilAborted(this.client.connect(this.transport, { timeout: timeoutMs + 1_000 }), abort.signal);
      answersAfterNotifications(this.transport);
      this.opened = true;
    } catch (error) {
      const reason = abort.signal.aborted ? abortReason(abort.signal) : error;
      await this.shutdown('dropped').catch((closeError: unknown) =>
        this.init.logger.debug({ err: closeError }, 'closing a failed connect failed'),
      );
      throw toConnectError(reason);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onOuterAbort);
      this.connectAbort = undefined;
    }
  }

  private async request<T>(
    run: (sdk: RequestOptions, timer: CallTimer) => Promise<T>,
    options: CallToolOptions,
  ): Promise<T> {
    if (this.closed)
      throw new HubError('HUB_ERR_UPSTREAM_UNAVAILABLE', { message: 'MCP server connection closed' });
    const callerSignal = options.signal;
    if (callerSignal?.aborted === true) throw abortReason(callerSignal);
    // The SDK never removes the abort listener it adds to a request's signal; give it a
    // per-request signal so nothing is left on the caller's (possibly long-lived) one.
    const signal = new RequestSignal();
    const onCallerAbort = (): void => signal.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    this.inFlightCount += 1;
    const onLog = options.onLog;
    if (onLog) this.logSinks.add(onLog);
    // A per-request function the SDK hands the transport with the message (see server-requests.ts).
    const tag = (): void => undefined;
    const maxTotalMs = options.maxTotalTimeoutMs ?? this.init.maxCallDurationMs;
    const timer = new CallTimer(
      options.timeoutMs ?? this.init.requestTimeoutMs,
      (limit) => signal.abort(limit === 'total' ? callTooLong(maxTotalMs) : requestTimedOut()),
      maxTotalMs,
    );
    const endRelay = options.onServerRequest
      ? this.router.begin(tag, options.onServerRequest, options.onElicitationComplete, () => timer.hold())
      : undefined;
    this.init.onActivity?.();
    try {
      // The SDK's own timer is kept out of the way: the CallTimer decides (it can stand still).
      return await run(
        { signal, timeout: NO_SDK_TIMEOUT, ...(endRelay ? { onresumptiontoken: tag } : {}) },
        timer,
      );
    } catch (error) {
      // The SDK turns an abort reason into a generic timeout; the total bound's own error names it.
      const ours: unknown = signal.reason;
      if (isHubError(ours) && ours !== callerSignal?.reason) throw ours;
      throw this.requestFailure(error, callerSignal);
    } finally {
      timer.stop();
      callerSignal?.removeEventListener('abort', onCallerAbort);
      endRelay?.();
      if (onLog) this.logSinks.delete(onLog);
      this.inFlightCount -= 1;
      this.init.onActivity?.();
    }
  }

  /**
   * One answer for a failed request, whichever way the failure reached it first. A fetch that
   * throws the hub's own error (a token refresh that failed, an egress refusal) fails its request
   * and, as a fault, drops the connection, which fails every request in flight with "connection
   * closed": those report the hub's error instead. A 401 the token refresh could not cure (a
   * refused grant deleted the tokens) means the upstream no longer accepts this connection: it is
   * dropped, so the next acquire checks the caller's authorization, and the request answers as an
   * acquire's 401 does, HUB_ERR_OAUTH_REQUIRED.
   */
  private requestFailure(error: unknown, callerSignal: AbortSignal | undefined): unknown {
    if (callerSignal?.aborted === true) return abortReason(callerSignal);
    const dropped = this.closed ? hubErrorInChain(this.dropError) : undefined;
    if (dropped !== undefined && isConnectionClosed(error)) return dropped;
    if (upstreamHttpStatus(error) === 401) {
      const unauthorized = new HubError('HUB_ERR_OAUTH_REQUIRED', { cause: error });
      this.fault(unauthorized);
      return unauthorized;
    }
    return toRequestError(error, callerSignal);
  }

  /** An upstream failure seen outside the SDK: fail the connect, or drop the live connection. */
  private fault(error: Error): void {
    if (this.closed) return;
    if (this.connectAbort !== undefined) {
      this.connectAbort.abort(
        hubErrorInChain(error) ?? new HubError('HUB_ERR_UPSTREAM_UNAVAILABLE', { cause: error }),
      );
      return;
    }
    this.init.logger.info({ err: error }, 'upstream went away; closing the connection');
    this.dropError = error;
    this.shutdown('dropped').catch((closeError: unknown) =>
      this.init.logger.warn({ err: closeError }, 'closing a dropped upstream connection failed'),
    );
  }

  private shutdown(reason: CloseReason): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closeReason ??= reason;
    this.closing = (async () => {
      try {
        if (reason === 'closed' && this.opened) await this.endSession();
      } finally {
        try {
          await this.client.close();
        } finally {
          this.onClientClosed(); // in case the transport never reported its close
        }
      }
    })();
    return this.closing;
  }

  /** Streamable HTTP: tell the server the session is over, so it can free it now. */
  private async endSession(): Promise<void> {
    const transport =
      this.transport instanceof RequestTaggingTransport ? this.transport.inner : this.transport;
    if (!(transport instanceof StreamableHttpTransport) || transport.sessionId === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        transport.terminateSession(),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, END_SESSION_WAIT_MS))),
      ]);
    } catch (error) {
      this.init.logger.debug({ err: error }, 'ending the upstream session failed');
    } finally {
      clearTimeout(timer);
    }
  }

  private onClientClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    // The transport closed by itself (a stdio child exiting) unless we were closing it.
    const reason = this.closeReason ?? 'dropped';
    if (this.opened) this.init.onClosed?.(reason, reason === 'dropped' ? this.dropError : undefined);
  }
}

/** The SDK's error for a request whose connection closed under it. */
/**
 * The SDK hands a notification to its handler one microtask after it arrives, and settles a response
 * at once. A call's last progress notification, read in the same chunk as the call's result, would
 * then reach its handler after the call had ended and be dropped. Responses are therefore passed on
 * one microtask later, behind any notification read before them. Call after `client.connect`, which
 * installs the handler wrapped here.
 */
function answersAfterNotifications(transport: Transport): void {
  const deliver = transport.onmessage;
  if (deliver === undefined) return;
  transport.onmessage = (message, extra) => {
    if ('result' in message || 'error' in message) queueMicrotask(() => deliver(message, extra));
    else deliver(message, extra);
  };
}

function isConnectionClosed(error: unknown): boolean {
  return error instanceof McpError && error.code === (ErrorCode.ConnectionClosed as number);
}

/** Settles with `promise`, or rejects with the signal's reason when it aborts first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
