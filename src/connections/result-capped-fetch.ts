import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../observability/index.js';
import { resultTooLargeResponse } from './result-limit.js';
import { SseResultFilter } from './sse-result-filter.js';
import type { FetchLike } from './types.js';
import { UnansweredRequest } from './unanswered-request.js';

/** Why a capped body was cut off (the cancel reason handed upstream). */
class ResultTooLargeAbort extends Error {
  constructor(maxBytes: number) {
    super(`MCP server response is larger than the ${maxBytes}-byte limit`);
    this.name = 'ResultTooLargeAbort';
  }
}

/**
 * Wraps the HTTP transports' fetch so no message from the upstream may pass `maxBytes`, counted as
 * it streams and never held past the limit:
 * - an event stream answering a POSTed request: an oversized event ends that stream (cancelled
 *   upstream) with an error response for the request in its place;
 * - any other event stream (the legacy SSE session, the streamable GET stream): the oversized
 *   event is skipped and, when its ends tell which response it was, an error response takes its
 *   place; the stream, and so the session, goes on;
 * - a JSON answer to a POSTed request: an error response replaces it;
 * - any other body past the limit fails to read (an error page, say).
 * The error responses are {@link resultTooLargeResponse}s: they fail the one call concerned.
 *
 * A POST's event stream that ends or breaks before the response to its request (and cannot be
 * resumed: no event id) gets a {@link streamCutResponse} in its place, then ends cleanly: the SDK
 * would otherwise wait for its timeout. Only that call fails; `onUnanswered` then hears of it
 * with the POST's URL and init, to check whether the upstream is still there.
 */
export function capResults(
  base: FetchLike,
  maxBytes: number,
  logger: Logger,
  onUnanswered?: (url: string | URL, init: RequestInit) => void,
): FetchLike {
  return async (url, init) => {
    const response = await base(url, init);
    const body = response.body;
    if (body === null) return response;
    const posted = (init?.method ?? 'GET').toUpperCase() === 'POST' ? init?.body : undefined;
    const ownId = (): RequestId | undefined => requestIdOf(posted);
    const type = (response.headers.get('content-type') ?? '').toLowerCase();
    if (type.startsWith('text/event-stream')) {
      const owner = posted === undefined ? undefined : ownId;
      const id = owner?.();
      const owed =
        id === undefined || init === undefined
          ? undefined
          : {
              request: new UnansweredRequest(id),
              signal: init.signal ?? undefined,
              onCut: () => onUnanswered?.(url, init),
            };
      return rewrap(response, filterEvents(body, maxBytes, owner, logger, owed));
    }
    if (posted !== undefined && response.ok && type.startsWith('application/json')) {
      return rewrap(response, cappedJson(body, maxBytes, declaredLength(response), ownId));
    }
    return rewrap(response, cappedBytes(body, maxBytes));
  };
}

/** A response like `response` with another body (its length header dropped: the body may change). */
function rewrap(response: Response, body: ReadableStream<Uint8Array>): Response {
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

/** A POST's own event stream: the request it answers, and who hears when it is answered in its place. */
interface OwedAnswer {
  request: UnansweredRequest;
  /** The transport's signal: once aborted, the stream's end is the transport's doing. */
  signal: AbortSignal | undefined;
  onCut: () => void;
}

function filterEvents(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  ownId: (() => RequestId | undefined) | undefined,
  logger: Logger,
  owed: OwedAnswer | undefined,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const out: Buffer[] = [];
  let cut = false;
  const fail = (id: RequestId): void => {
    const error = JSON.stringify(resultTooLargeResponse({ maxBytes, id }));
    out.push(Buffer.from(`event: message\ndata: ${error}\n\n`));
  };
  const filter = new SseResultFilter(maxBytes, {
    emit: (bytes) => {
      if (cut) return;
      out.push(bytes);
      owed?.request.event(bytes);
    },
    overflowed: () => {
      // On a POST's own stream the oversized message is taken as that request's answer, and the
      // stream has nothing more worth reading: it ends here.
      const id = cut ? undefined : ownId?.();
      if (id === undefined) return;
      fail(id);
      cut = true;
    },
    dropped: (id) => {
      if (cut) return;
      if (id === undefined) {
        logger.warn({ maxResultBytes: maxBytes }, 'dropped an oversized MCP message whose id is unknown');
      } else fail(id);
    },
  });
  /**
   * The upstream body ended (`error` undefined) or broke. A request still owed its answer gets the
   * error response in place of the unfinished event (which would join the event after it), and
   * the stream ends cleanly; true when that happened.
   */
  const answerInstead = (error: unknown): boolean => {
    if (owed === undefined || owed.signal?.aborted === true || !owed.request.owed) return false;
    logger.info(
      error === undefined ? {} : { err: error },
      'MCP server ended the event stream before answering its request; that call fails',
    );
    out.push(owed.request.answer());
    owed.onCut();
    return true;
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (out.length === 0 && !cut) {
        const chunk = await reader.read().catch((error: unknown) => ({ error }));
        if ('error' in chunk || chunk.done) {
          const broke = 'error' in chunk;
          if (!answerInstead(broke ? chunk.error : undefined)) {
            if (broke) {
              controller.error(chunk.error);
              return;
            }
            filter.end();
          }
          flush(out, controller);
          controller.close();
          return;
        }
        filter.push(Buffer.from(chunk.value.buffer, chunk.value.byteOffset, chunk.value.byteLength));
      }
      flush(out, controller);
      if (cut) {
        controller.close();
        await reader.cancel(new ResultTooLargeAbort(maxBytes)).catch(() => undefined);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

function flush(out: Buffer[], controller: ReadableStreamDefaultController<Uint8Array>): void {
  for (const bytes of out.splice(0)) controller.enqueue(bytes);
}

/**
 * A JSON answer to a POSTed request, held (as the SDK would hold it to parse it) up to the limit;
 * past it, or when its declared length is past it, the upstream body is cancelled and an error
 * response for the request takes its place.
 */
function cappedJson(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  declared: number | undefined,
  ownId: () => RequestId | undefined,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const tooLarge = async (controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> => {
    await reader.cancel(new ResultTooLargeAbort(maxBytes)).catch(() => undefined);
    const id = ownId();
    if (id === undefined) {
      controller.error(new ResultTooLargeAbort(maxBytes));
      return;
    }
    controller.enqueue(Buffer.from(JSON.stringify(resultTooLargeResponse({ maxBytes, id }))));
    controller.close();
  };
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      if (declared !== undefined && declared > maxBytes) {
        await tooLarge(controller);
        return;
      }
      const chunks: Uint8Array[] = [];
      let received = 0;
      for (;;) {
        const chunk = await reader.read().catch((error: unknown) => ({ error }));
        if ('error' in chunk) {
          controller.error(chunk.error);
          return;
        }
        if (chunk.done) break;
        received += chunk.value.byteLength;
        if (received > maxBytes) {
          chunks.length = 0;
          await tooLarge(controller);
          return;
        }
        chunks.push(chunk.value);
      }
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** Any other body: passed on as it streams, and failing to read once past the limit. */
function cappedBytes(body: ReadableStream<Uint8Array>, maxBytes: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let received = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await reader.read().catch((error: unknown) => ({ error }));
      if ('error' in chunk) {
        controller.error(chunk.error);
        return;
      }
      if (chunk.done) {
        controller.close();
        return;
      }
      received += chunk.value.byteLength;
      if (received > maxBytes) {
        const reason = new ResultTooLargeAbort(maxBytes);
        await reader.cancel(reason).catch(() => undefined);
        controller.error(reason);
        return;
      }
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

function declaredLength(response: Response): number | undefined {
  const value = Number(response.headers.get('content-length') ?? Number.NaN);
  return Number.isFinite(value) ? value : undefined;
}

/** The id of the single JSON-RPC request POSTed, if the body is one. */
function requestIdOf(posted: unknown): RequestId | undefined {
  if (typeof posted !== 'string') return undefined;
  let message: unknown;
  try {
    message = JSON.parse(posted);
  } catch {
    return undefined;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
  const { id, method } = message as { id?: unknown; method?: unknown }; // narrowed field by field below
  if (typeof method !== 'string') return undefined;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}
