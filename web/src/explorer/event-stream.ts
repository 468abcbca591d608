/**
 * A small reader of `text/event-stream` bodies. The page cannot use `EventSource` for tool calls:
 * it only sends GET, and a call is a POST with a body and the CSRF header.
 */

/** One event of the stream: its name (`message` when the stream named none) and its data lines joined. */
export interface StreamEvent {
  event: string;
  data: string;
}

/**
 * Turns chunks of text into events. Lines end with LF, CR or CRLF; a blank line ends an event;
 * lines starting with `:` are comments; `id` and `retry` are ignored (a call is never resumed).
 */
export class EventStreamParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  readonly #onEvent: (event: StreamEvent) => void;

  constructor(onEvent: (event: StreamEvent) => void) {
    this.#onEvent = onEvent;
  }

  /** Feeds the next chunk of decoded text. */
  push(chunk: string): void {
    this.#buffer += chunk;
    // A CR at the very end may be the first half of a CRLF: keep it until the next chunk says.
    const holdBack = this.#buffer.endsWith('\r') ? 1 : 0;
    const usable = this.#buffer.slice(0, this.#buffer.length - holdBack);
    const lines = usable.split(/\r\n|\r|\n/);
    const rest = lines.pop() ?? '';
    this.#buffer = rest + this.#buffer.slice(this.#buffer.length - holdBack);
    for (const line of lines) this.#line(line);
  }

  /** The body ended: a last event without its blank line is still delivered. */
  end(): void {
    if (this.#buffer !== '') this.#line(this.#buffer.replace(/\r$/, ''));
    this.#buffer = '';
    this.#dispatch();
  }

  #line(line: string): void {
    if (line === '') {
      this.#dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
  }

  #dispatch(): void {
    const event = this.#event === '' ? 'message' : this.#event;
    const data = this.#data;
    this.#event = '';
    this.#data = [];
    if (data.length > 0) this.#onEvent({ event, data: data.join('\n') });
  }
}

/**
 * Reads a stream body to its end, calling `onEvent` for each event. Rejects as the body does, for
 * example with an `AbortError` when the request's signal is aborted.
 */
export async function readEventStream(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: StreamEvent) => void,
): Promise<void> {
  const parser = new EventStreamParser(onEvent);
  const decoder = new TextDecoder();
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.push(decoder.decode(value, { stream: true }));
  }
  parser.push(decoder.decode());
  parser.end();
}
