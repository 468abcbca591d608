import { egressFailed } from './egress-errors.js';

/** Statuses whose responses have no body (Fetch standard, "null body status"). */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

/** How a {@link capResponse} body ends. */
export interface BodyWatch {
  /** Largest body passed on, in bytes; `Infinity` for none. */
  maxBytes: number;
  /** Called once when the body has ended, failed, been cancelled, or was never there. */
  onSettled: () => void;
  /** Ends the upstream request (its socket included) with this reason. */
  abort: (reason: Error) => void;
}

/** What the guard needs of an upstream response (undici's, whose class differs from the global one). */
export interface UpstreamResponse {
  status: number;
  statusText: string;
  headers: Iterable<[string, string]>;
  body: ReadableStream<Uint8Array> | null;
}

/**
 * Re-issues an upstream response as a global `Response` whose body stops at `maxBytes`: the body is
 * counted as it streams, never buffered whole, and going over aborts the request, so a 50 MB answer
 * costs the cap and no more (SS-16). `url` and `redirected` describe the hops the guard followed.
 */
export function capResponse(
  upstream: UpstreamResponse,
  watch: BodyWatch,
  final: { url: string; redirected: boolean },
): Response {
  const init = { status: upstream.status, statusText: upstream.statusText, headers: [...upstream.headers] };
  const body = upstream.body;
  let response: Response;
  if (body === null || NULL_BODY_STATUSES.has(upstream.status)) {
    void body?.cancel().catch(() => undefined);
    watch.onSettled();
    response = new Response(null, init);
  } else {
    response = new Response(countedBody(body, watch), init);
  }
  // The constructor leaves `url` empty and `redirected` false; callers resolve relative links
  // against the URL that answered, as they would with fetch's own response.
  Object.defineProperty(response, 'url', { value: final.url });
  Object.defineProperty(response, 'redirected', { value: final.redirected });
  return response;
}

function countedBody(body: ReadableStream<Uint8Array>, watch: BodyWatch): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let received = 0;
  let settled = false;
  const settle = (): void => {
    if (settled) return;
    settled = true;
    watch.onSettled();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        settle();
        controller.error(error);
        return;
      }
      if (chunk.done) {
        settle();
        controller.close();
        return;
      }
      received += chunk.value.byteLength;
      if (received > watch.maxBytes) {
        const tooLarge = egressFailed('Upstream response is too large');
        watch.abort(tooLarge);
        settle();
        controller.error(tooLarge);
        return;
      }
      controller.enqueue(chunk.value);
    },
    async cancel(reason) {
      settle();
      await reader.cancel(reason);
    },
  });
}
