/** One dispatched server-sent event (WHATWG HTML §9.2.6, "Interpreting an event stream"). */
export interface SseEvent {
  /** The `event` field, or `message` when the event named none. */
  readonly type: string;
  /** The `data` lines joined with `\n`, decoded as UTF-8. */
  readonly data: string;
  /** The stream's last event id after this event (the `id` field of this or an earlier event). */
  readonly lastEventId: string | undefined;
}

/** Where a {@link SseEventReader} hands what it read. */
export interface SseEventSink {
  event(event: SseEvent): void;
  /** A `retry` field: the reconnection time the server asks for, in ms. */
  retry?(ms: number): void;
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const NEWLINE = Buffer.from('\n');
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Reads a `text/event-stream` body from its bytes, as the stream arrives: lines end in LF, CRLF or
 * CR, a `data` value is kept by reference to the chunk it came in, and an event's data is decoded to
 * text once, when its blank line dispatches it. A line split across chunks is joined (one copy of
 * that line); nothing else is copied. An unfinished event at the body's end is dropped, as the
 * standard says.
 */
export class SseEventReader {
  /** The unfinished line's pieces, by reference. */
  private partial: Buffer[] = [];
  /** The previous chunk ended in CR: a LF that starts the next one belongs to that line end. */
  private afterCr = false;
  private atStart = true;
  /** The event's data so far: its lines' values with a `\n` between each two, by reference. */
  private data: Buffer[] = [];
  /** A `data` line was read (an empty one too: the event's data is then an empty string). */
  private hasData = false;
  private type: string | undefined;
  /** The last event id buffer: set by every `id` field, dispatched event or not. */
  private idBuffer: string | undefined;

  /** `lastEventId`: where a stream reopened with `Last-Event-ID` starts (the id carries over). */
  constructor(
    private readonly sink: SseEventSink,
    lastEventId?: string,
  ) {
    this.idBuffer = lastEventId;
  }

  /** The stream's last event id so far, also one an event without data set. */
  get lastEventId(): string | undefined {
    return this.idBuffer;
  }

  /** Feeds one chunk of the body. */
  push(bytes: Uint8Array): void {
    let chunk = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (this.atStart) {
      // A byte order mark may start the stream: hold the first bytes until they tell.
      const head = this.partial.length === 0 ? chunk : Buffer.concat([...this.partial, chunk]);
      this.partial = [];
      if (head.length < BOM.length && BOM.subarray(0, head.length).equals(head)) {
        this.partial.push(head);
        return;
      }
      this.atStart = false;
      chunk = head.subarray(0, BOM.length).equals(BOM) ? head.subarray(BOM.length) : head;
    }
    let start = 0;
    if (this.afterCr) {
      this.afterCr = false;
      if (chunk[0] === LF) start = 1;
    }
    // The next CR at or after `start`, searched for once per chunk until there is none.
    let nextCr = chunk.indexOf(CR, start);
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      if (nextCr !== -1 && nextCr < start) nextCr = chunk.indexOf(CR, start);
      let end: number;
      let next: number;
      if (nextCr !== -1 && (lf === -1 || nextCr < lf)) {
        end = nextCr;
        if (nextCr + 1 === chunk.length) {
          this.afterCr = true;
          next = chunk.length;
        } else next = chunk[nextCr + 1] === LF ? nextCr + 2 : nextCr + 1;
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        this.partial.push(chunk.subarray(start));
        return;
      }
      this.line(this.joined(chunk.subarray(start, end)));
      start = next;
    }
  }

  /** The body ended: an unfinished line is read, an unfinished event is dropped. */
  end(): void {
    if (this.partial.length > 0) this.line(this.joined(Buffer.alloc(0)));
    this.data = [];
    this.hasData = false;
    this.type = undefined;
  }

  private joined(last: Buffer): Buffer {
    if (this.partial.length === 0) return last;
    const line = Buffer.concat([...this.partial, last]);
    this.partial = [];
    return line;
  }

  private line(line: Buffer): void {
    if (line.length === 0) {
      this.dispatch();
      return;
    }
    if (line[0] === COLON) return; // a comment
    const colon = line.indexOf(COLON);
    const name = (colon === -1 ? line : line.subarray(0, colon)).toString('latin1');
    let value = colon === -1 ? Buffer.alloc(0) : line.subarray(colon + 1);
    if (value[0] === SPACE) value = value.subarray(1);
    switch (name) {
      case 'data':
        if (this.hasData) this.data.push(NEWLINE);
        this.data.push(value);
        this.hasData = true;
        break;
      case 'event':
        this.type = value.toString('utf8');
        break;
      case 'id':
        if (!value.includes(0)) this.idBuffer = value.toString('utf8');
        break;
      case 'retry':
        if (value.length > 0 && /^[0-9]+$/.test(value.toString('latin1')))
          this.sink.retry?.(Number(value.toString('latin1')));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private dispatch(): void {
    const { data, type, hasData } = this;
    this.data = [];
    this.hasData = false;
    this.type = undefined;
    if (!hasData) return;
    const text =
      data.length === 1 ? (data[0] as Buffer).toString('utf8') : Buffer.concat(data).toString('utf8');
    this.sink.event({
      type: type === undefined || type === '' ? 'message' : type,
      data: text,
      lastEventId: this.idBuffer,
    });
  }
}
