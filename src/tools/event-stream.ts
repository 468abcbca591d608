import { PassThrough } from 'node:stream';
import { jsonBody } from '../core/index.js';

/** How often a keep-alive comment goes out by default, so proxies do not cut a quiet long call. */
export const KEEP_ALIVE_MS = 15_000;

/**
 * True when the Accept header lists `text/event-stream` (not with `q=0`): the caller wants the call
 * streamed (progress events, then the result). Any other Accept keeps the plain JSON answer.
 */
export function wantsEventStream(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    return type === 'text/event-stream' && !params.some((param) => /^q=0(\.0{0,3})?$/.test(param));
  });
}

/** Options of {@link createEventStream}. */
export interface EventStreamOptions {
  /** Interval of the `: ping` comments; default {@link KEEP_ALIVE_MS}. */
  keepAliveMs?: number;
}

/**
 * A `text/event-stream` response body being written: named events with one-line JSON data, and
 * keep-alive comments until it ends. Writing after the reader went away is a no-op.
 */
export interface EventStream {
  /** The body to send (Fastify `reply.send(stream.body)`). */
  readonly body: PassThrough;
  /** Writes `event: <event>` with `data: <JSON of data>`. */
  send(event: string, data: unknown): void;
  /** Stops the keep-alives and ends the body (idempotent). */
  end(): void;
}

/**
 * Opens an event stream. Its first bytes (a `: connected` comment) are written at once, so the
 * status and headers reach the client before the first event.
 */
export function createEventStream(options: EventStreamOptions = {}): EventStream {
  const body = new PassThrough();
  const open = () => !body.destroyed && !body.writableEnded;
  const write = (chunk: string | Buffer) => {
    if (open()) body.write(chunk);
  };
  const keepAlive = setInterval(() => write(': ping\n\n'), options.keepAliveMs ?? KEEP_ALIVE_MS);
  keepAlive.unref();
  body.once('close', () => clearInterval(keepAlive));
  write(': connected\n\n');
  return {
    body,
    // JSON without indentation never holds a line break, so one `data:` line suffices; a long
    // result's text goes in as bytes (jsonBody), not as more copies in the heap.
    send: (event, data) => write(jsonBody(data, `event: ${event}\ndata: `, '\n\n')),
    end: () => {
      clearInterval(keepAlive);
      if (open()) body.end();
    },
  };
}
