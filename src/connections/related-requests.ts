import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { createParser } from 'eventsource-parser';
import type { FetchLike } from './types.js';

/** Hears that the upstream's request `serverRequestId` came on the stream answering `clientRequestId`. */
export type RelatedRequestListener = (serverRequestId: RequestId, clientRequestId: RequestId) => void;

/** A larger event is a result, not a request worth attributing; it is not buffered twice. */
const MAX_SCANNED_EVENT_CHARS = 4 * 1024 * 1024;

/**
 * Streamable HTTP servers send the requests a client request leads to (sampling, elicitation) on
 * that request's own response stream (MCP 2025-06-18 basic/transports: "the server MAY send
 * JSON-RPC requests and notifications before sending the JSON-RPC response. These messages SHOULD
 * relate to the originating client request"). The SDK's transport does not say which stream a
 * message came on, so this fetch wrapper watches the event stream of every POSTed request and
 * reports each server→client request on it before the SDK reads that event: the one sure way to
 * tell which of several calls sharing a connection a request belongs to.
 */
export function observeRelatedRequests(base: FetchLike, onRelated: RelatedRequestListener): FetchLike {
  return async (url, init) => {
    const response = await base(url, init);
    const posted = init?.body;
    if (
      (init?.method ?? 'GET').toUpperCase() !== 'POST' ||
      typeof posted !== 'string' ||
      response.body === null ||
      !(response.headers.get('content-type') ?? '').toLowerCase().startsWith('text/event-stream')
    )
      return response;
    // The POSTed message's id, read only when the stream carries a request (rare).
    let ownId: RequestId | null | undefined;
    const scan = scanForRequests((serverRequestId) => {
      ownId ??= requestIdOf(posted);
      if (ownId !== null) onRelated(serverRequestId, ownId);
    });
    const observed = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          scan(chunk);
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(observed, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/** Feeds event-stream bytes; calls `onRequest` with the id of each JSON-RPC request event. */
function scanForRequests(onRequest: (id: RequestId) => void): (chunk: Uint8Array) => void {
  const decoder = new TextDecoder();
  const parser = createParser({
    onEvent(event) {
      if (event.event !== undefined && event.event !== 'message') return;
      const data = event.data;
      // Results are most events and may be large: parse only what can be a request.
      if (data.length > MAX_SCANNED_EVENT_CHARS || !data.includes('"method"')) return;
      const id = requestIdOf(data);
      if (id !== null) onRequest(id);
    },
  });
  return (chunk) => parser.feed(decoder.decode(chunk, { stream: true }));
}

/** The id of the JSON-RPC request in `text`, or null when it is not one (or not JSON). */
function requestIdOf(text: string): RequestId | null {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return null;
  const { id, method } = message as { id?: unknown; method?: unknown }; // narrowed field by field below
  if (typeof method !== 'string') return null;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}
