import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { BoundedLineReader, lastBytes } from './bounded-lines.js';
import { ID_SCAN_BYTES, idFromEnds } from './result-limit.js';

/** Where a {@link SseResultFilter} sends what passes, and what it dropped. */
export interface SseFilterSink {
  /**
   * A whole event, held until its blank line: its lines without their `\n` (a trailing `\r`
   * stays), by reference to the bytes they came in (nothing is copied to join them). `complete` is
   * false for the unfinished event at the body's end.
   */
  emit(lines: readonly Buffer[], complete: boolean): void;
  /** An event just went past the limit: it will be skipped (a sink may stop reading here). */
  overflowed(): void;
  /** An event went past the limit and was dropped; `id` is the response's id when its ends tell it. */
  dropped(id: RequestId | undefined): void;
}

const DATA_PREFIX = /^data: ?/;

/**
 * Passes a `text/event-stream` body on event by event (WHATWG HTML §9.2 "Server-sent events"),
 * holding at most `maxBytes` of one event: a larger event is skipped up to its end, its two ends
 * kept to read the id of the response it carried. The events after it pass as before, so the
 * stream, and the session it may be, lives on.
 */
export class SseResultFilter {
  private readonly lines: BoundedLineReader;
  /** The lines of the event so far (never past `maxBytes`, a byte for each `\n` counted). */
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Inside an oversized event: the start of its data, and the last bytes of its data so far. */
  private skipped: { head: Buffer; tail: Buffer } | undefined;

  constructor(
    private readonly maxBytes: number,
    private readonly sink: SseFilterSink,
  ) {
    this.lines = new BoundedLineReader(maxBytes, {
      line: (line) => this.onLine(line),
      oversized: (head, tail) => this.onOversizedLine(head, tail),
      overflowed: () => {
        if (this.skipped === undefined) this.startSkipping(undefined);
      },
    });
  }

  /** Feeds a chunk of the body. */
  push(chunk: Buffer): void {
    this.lines.push(chunk);
  }

  /** The body ended: an unfinished event is passed on as it is (the SSE parser drops it). */
  end(): void {
    this.lines.end();
    if (this.skipped !== undefined) this.endEvent();
    else if (this.held.length > 0) this.sink.emit(this.held, false);
    this.held = [];
    this.heldBytes = 0;
  }

  private onLine(line: Buffer): void {
    if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) {
      this.endEvent();
      return;
    }
    if (this.skipped !== undefined) {
      if (isData(line)) this.skipped.tail = lastBytes(this.skipped.tail, dataOf(line));
      return;
    }
    if (this.heldBytes + line.length + 1 > this.maxBytes) {
      this.startSkipping(line);
      return;
    }
    this.held.push(line);
    this.heldBytes += line.length + 1;
  }

  private onOversizedLine(head: Buffer, tail: Buffer): void {
    if (this.skipped === undefined) this.startSkipping(undefined);
    const skipped = this.skipped;
    if (skipped === undefined || !isData(head)) return;
    if (skipped.head.length === 0) skipped.head = Buffer.from(dataOf(head).subarray(0, ID_SCAN_BYTES));
    skipped.tail = lastBytes(skipped.tail, tail);
  }

  /**
   * Drops what is held of the event (and `current`, the line that went past the limit, when it is
   * whole); keeps the start of the event's data and the data seen last.
   */
  private startSkipping(current: Buffer | undefined): void {
    const data = this.held.filter(isData);
    if (current !== undefined && isData(current)) data.push(current);
    const first = data[0];
    const final = data[data.length - 1];
    this.skipped = {
      head: first === undefined ? Buffer.alloc(0) : Buffer.from(dataOf(first).subarray(0, ID_SCAN_BYTES)),
      tail: final === undefined ? Buffer.alloc(0) : lastBytes(Buffer.alloc(0), dataOf(final)),
    };
    this.held = [];
    this.heldBytes = 0;
    this.sink.overflowed();
  }

  private endEvent(): void {
    const skipped = this.skipped;
    if (skipped !== undefined) {
      this.skipped = undefined;
      this.sink.dropped(idFromEnds(skipped.head.toString('utf8'), skipped.tail.toString('utf8')));
      return;
    }
    const lines = this.held;
    this.held = [];
    if (lines.length > 0) this.sink.emit(lines, true);
    this.heldBytes = 0;
  }
}

function isData(line: Buffer): boolean {
  return line.subarray(0, 5).toString('latin1') === 'data:';
}

/** A `data:` line's value (its trailing `\r` kept: the id patterns allow white space). */
function dataOf(line: Buffer): Buffer {
  const match = DATA_PREFIX.exec(line.subarray(0, 6).toString('latin1'));
  return line.subarray(match?.[0].length ?? 0);
}
