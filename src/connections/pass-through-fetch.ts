import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import {
  BODY_STAGE,
  type BodyMeter,
  type BodyStage,
  type BodyStageFactory,
  type ResponseHead,
  type StagedRequestInit,
  stagedStream,
  wasStaged,
} from '../net/body-stage.js';
import type { Logger } from '../observability/index.js';
import {
  POSTED_ID,
  type PostedMessageInit,
  type RelatedRequestListener,
  requestIdOf,
} from './related-requests.js';
import type { FetchLike } from './types.js';
import { ID_SCAN_BYTES, requestIdFromEnds } from './result-limit.js';
import { UnansweredRequest } from './unanswered-request.js';
import { CappedBytesStage, JsonAnswerStage, SseStage } from './upstream-body-stages.js';

/** What the HTTP transports' pass-through stage watches, caps and reports. */
export interface PassThroughOptions {
  /** The largest message taken from the upstream (`mcpSettings.maxResultBytes`). */
  maxResultBytes: number;
  logger: Logger;
  /** The upstream went away (see {@link PassThroughFetch}). */
  onFault: (error: Error) => void;
  /**
   * Legacy SSE: the event stream is the session, so its end (even a clean one) means the session
   * is gone. Streamable HTTP servers may end a GET stream and expect a reconnect.
   */
  streamEndIsFault: boolean;
  /** A POST's stream was answered in the upstream's place: check the upstream (its URL and init). */
  onUnanswered?: (url: string | URL, init: RequestInit) => void;
  /** Streamable HTTP: hears which call each server→client request belongs to. */
  onRelatedRequest?: RelatedRequestListener;
  /** Sees what each body's stage reads and hands on (tests count copies with it). */
  meter?: BodyMeter;
}

/**
 * The one stage every upstream HTTP response of an MCP transport goes through, between the hub's
 * fetch (the egress guard, with OAuth and header wrappers around it) and the SDK's transport:
 * - faults: a request that fails at the network level without our abort, a 404 to a request that
 *   carried a session id (the server forgot the session), and a GET event stream that breaks (or,
 *   per `streamEndIsFault`, ends) without our abort mean the upstream went away, which the SDK's
 *   HTTP transports only report through `onerror` and never act on;
 * - the result cap, cut-stream answers and related-request routing of {@link SseStage},
 *   {@link JsonAnswerStage} and {@link CappedBytesStage}.
 *
 * The stage rides on the request (`init[BODY_STAGE]`), so the guarded fetch runs it inside the one
 * body stream it builds anyway: one `Response`, headers converted once, no stream per concern. A
 * base fetch that does not run stages (a plain `fetch`) gets one stream and one `Response` here.
 */
export class PassThroughFetch {
  /** The transports' fetch. */
  readonly fetch: FetchLike = (url, init) => this.send(url, init, true);
  /** Faults only, no stage: the liveness ping's, whose answer is dropped unread. */
  readonly probe: FetchLike = (url, init) => this.send(url, init, false);

  constructor(
    private readonly base: FetchLike,
    private readonly options: PassThroughOptions,
  ) {}

  private async send(url: string | URL, init: RequestInit | undefined, staged: boolean): Promise<Response> {
    const signal = init?.signal ?? undefined;
    const stages: BodyStageFactory | undefined = staged
      ? (head) => this.stageFor(head, url, init)
      : undefined;
    const sent: StagedRequestInit | undefined =
      stages === undefined ? init : { ...init, [BODY_STAGE]: stages };
    let response: Response;
    try {
      response = await this.sendOrResend(url, sent);
    } catch (error) {
      if (signal?.aborted !== true)
        this.options.onFault(new Error('request to the MCP server failed', { cause: error }));
      throw error;
    }
    if (response.status === 404 && carriesSession(init?.headers)) {
      this.options.onFault(new Error('MCP server no longer knows this session (HTTP 404)'));
      return response;
    }
    if (stages === undefined || response.body === null || wasStaged(response)) return response;
    return restaged(response, stages);
  }

  /**
   * Sends once, and once more when the first try met a connection the upstream closed before any
   * answer (see {@link closedBeforeAnswer}). Without the second try, that one request failing is a
   * fault: the connection and every call in flight on it are dropped, for an upstream that is fine.
   */
  private async sendOrResend(url: string | URL, init: RequestInit | undefined): Promise<Response> {
    try {
      return await this.base(url, init);
    } catch (error) {
      if (init?.signal?.aborted === true || !resendable(init) || !closedBeforeAnswer(error)) throw error;
      this.options.logger.debug(
        { err: error },
        'upstream closed the connection before answering; sending again',
      );
      return this.base(url, init);
    }
  }

  private stageFor(head: ResponseHead, url: string | URL, init: RequestInit | undefined): BodyStage {
    const { maxResultBytes: maxBytes, logger, meter } = this.options;
    const type = (head.header('content-type') ?? '').toLowerCase();
    const method = (init?.method ?? 'GET').toUpperCase();
    const posted = method === 'POST' ? init?.body : undefined;
    // A GET that resumes a request's answer stream (Last-Event-ID) answers that request as its POST did.
    const resumed = method === 'GET' && init !== undefined && POSTED_ID in init;
    const answers = posted !== undefined || resumed;
    let parsed: { id: RequestId | undefined } | undefined;
    const ownId = (): RequestId | undefined => (parsed ??= { id: postedId(posted, init) }).id;
    const ok = head.status >= 200 && head.status < 300;
    if (type.startsWith('text/event-stream')) {
      const id = answers ? ownId() : undefined;
      const onRelated = this.options.onRelatedRequest;
      return new SseStage({
        maxBytes,
        logger,
        meter,
        ...(answers ? { ownId } : {}),
        ...(id === undefined || init === undefined
          ? {}
          : {
              owed: {
                request: new UnansweredRequest(id, resumed),
                signal: init.signal ?? undefined,
                onCut: () => this.options.onUnanswered?.(url, init),
              },
            }),
        ...(onRelated === undefined || id === undefined
          ? {}
          : { onRelated: (serverRequestId: RequestId) => onRelated(serverRequestId, id) }),
        ...(ok && method === 'GET' && !resumed
          ? {
              fault: {
                signal: init?.signal ?? undefined,
                endIsFault: this.options.streamEndIsFault,
                onFault: this.options.onFault,
              },
            }
          : {}),
      });
    }
    if (posted !== undefined && ok && type.startsWith('application/json'))
      return new JsonAnswerStage(maxBytes, declaredLength(head), ownId, meter);
    return new CappedBytesStage(maxBytes, meter);
  }
}

/** A response from a base that ran no stage, with `stages`' one stream as its body. */
function restaged(response: Response, stages: BodyStageFactory): Response {
  const body = response.body;
  const stage = stages({ status: response.status, header: (name) => response.headers.get(name) });
  if (body === null || stage === undefined) return response;
  const headers = new Headers(response.headers);
  headers.delete('content-length'); // the stage may change the body
  return new Response(stagedStream(body.getReader(), stage), {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

/**
 * How a kept-alive connection the upstream closed while idle shows when a request is sent on it
 * as the close crosses it (RFC 9112 §9.3.1: a connection may close at any time): the request fails
 * before any response, with the connection ended ("other side closed"), reset, or broken mid-write.
 * A loaded hub meets it against Node's default 5 s keep-alive (its own idle timer runs late and it
 * reuses a socket the server has closed). A server that closed the connection while idle never read
 * the request, so sending it once more applies it once (RFC 9110 §9.2.2 allows a retry of a
 * non-idempotent request when the first was never applied). The codes alone cannot tell that case
 * from a server that read the request and then died unanswering; that one is either gone (the
 * resend is refused: a fault, as before) or restarted without the session (a 404: a fault). A
 * refused connection or a DNS or egress failure is not this, and is a fault at once.
 */
const CLOSED_BEFORE_ANSWER: ReadonlySet<string> = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

function closedBeforeAnswer(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CLOSED_BEFORE_ANSWER.has(code)) return true;
    current = current.cause;
  }
  return false;
}

/** A request whose body can be sent again as it is (the transports send JSON text, or none). */
function resendable(init: RequestInit | undefined): boolean {
  const body = init?.body;
  return body === undefined || body === null || typeof body === 'string';
}

function carriesSession(headers: RequestInit['headers']): boolean {
  if (headers === undefined) return false;
  if (headers instanceof Headers) return headers.has('mcp-session-id');
  if (Array.isArray(headers)) return headers.some(([name]) => name?.toLowerCase() === 'mcp-session-id');
  // A record, as the streamable HTTP transport sends (its names lower-case): no Headers built for it.
  for (const name in headers) if (name.toLowerCase() === 'mcp-session-id') return true;
  return false;
}

function declaredLength(head: ResponseHead): number | undefined {
  const value = Number(head.header('content-length') ?? Number.NaN);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * A POSTed body up to this size is parsed whole for its id; a larger one (a tool call with 1 MB of
 * arguments) is read at its ends, which costs nothing, where a parse cost a copy of it per call.
 */
const PARSED_POST_BYTES = 64 * 1024;

/** The id of the single JSON-RPC request POSTed, if the body is one (as its sender said, when it did). */
function postedId(posted: unknown, init: PostedMessageInit | undefined): RequestId | undefined {
  if (init !== undefined && POSTED_ID in init) return init[POSTED_ID];
  if (typeof posted !== 'string') return undefined;
  if (posted.length <= PARSED_POST_BYTES) return requestIdOf(posted) ?? undefined;
  return requestIdFromEnds(posted.slice(0, ID_SCAN_BYTES), posted.slice(-ID_SCAN_BYTES));
}
