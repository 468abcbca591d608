import type { FetchLike } from './types.js';

/** What a {@link watchFetch} wrapper watches for beyond failed requests. */
export interface FetchWatchOptions {
  /**
   * Legacy SSE: the event stream is the session, so its end (even a clean one) means the
   * session is gone. Streamable HTTP servers may end a GET stream and expect a reconnect.
   */
  streamEndIsFault: boolean;
}

/**
 * Wraps the transports' fetch so the connection learns that the upstream went away, which the
 * SDK's HTTP transports only report through `onerror` and never act on: a call whose SSE
 * response dies mid-stream would otherwise wait for its full timeout. A fault is:
 * - a request that fails at the network level (refused, reset) without our abort;
 * - 404 to a request that carried a session id (the server forgot the session: it restarted);
 * - an event stream that breaks mid-way without our abort (or, per options, that ends), except
 *   the stream answering a POST: that fails only its own request (see capResults, which answers
 *   it and has the upstream checked), so the other calls on the connection go on.
 */
export function watchFetch(
  base: FetchLike,
  onFault: (error: Error) => void,
  options: FetchWatchOptions,
): FetchLike {
  return async (url, init) => {
    const signal = init?.signal ?? undefined;
    let response: Response;
    try {
      response = await base(url, init);
    } catch (error) {
      if (signal?.aborted !== true) onFault(asError(error, 'request to the MCP server failed'));
      throw error;
    }
    if (response.status === 404 && new Headers(init?.headers).has('mcp-session-id')) {
      onFault(new Error('MCP server no longer knows this session (HTTP 404)'));
      return response;
    }
    const body = response.body;
    if (!response.ok || body === null || !isEventStream(response)) return response;
    const isGet = (init?.method ?? 'GET').toUpperCase() === 'GET';
    const watched = watchBody(
      body,
      signal,
      { breakIsFault: isGet, endIsFault: isGet && options.streamEndIsFault },
      onFault,
    );
    // A fresh Response around the watched stream; status and headers are all the SDK reads of it.
    return new Response(watched, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

function isEventStream(response: Response): boolean {
  return (response.headers.get('content-type') ?? '').toLowerCase().startsWith('text/event-stream');
}

function watchBody(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
  faults: { breakIsFault: boolean; endIsFault: boolean },
  onFault: (error: Error) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (faults.breakIsFault && signal?.aborted !== true && !cancelled)
          onFault(asError(error, 'MCP server event stream broke'));
        controller.error(error);
        return;
      }
      if (chunk.done) {
        if (faults.endIsFault && signal?.aborted !== true && !cancelled)
          onFault(new Error('MCP server ended its event stream'));
        controller.close();
      } else {
        controller.enqueue(chunk.value);
      }
    },
    cancel(reason) {
      cancelled = true;
      return reader.cancel(reason);
    },
  });
}

function asError(error: unknown, message: string): Error {
  return new Error(message, { cause: error });
}
