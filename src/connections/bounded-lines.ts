import { ID_SCAN_BYTES } from './result-limit.js';

/** What a {@link BoundedLineReader} hands on, in stream order. */
export interface LineSink {
  /** A whole line, without its `\n` (a trailing `\r` stays). */
  line(line: Buffer): void;
  /**
   * A line that went past the bound and was dropped whole: `head` and `tail` are its first and
   * last bytes (up to {@link ID_SCAN_BYTES} each), enough to tell which request it answered.
   */
  oversized(head: Buffer, tail: Buffer): void;
  /** The current line just went past the bound (its `oversized` comes at its end). */
  overflowed?(): void;
}

/**
 * Splits a byte stream on `\n`, holding at most `maxLineBytes` of an unfinished line. A longer line
 * is skipped up to its newline, keeping only its two ends, so one oversized message costs the
 * bound in memory and leaves the stream usable for the lines after it. Lines go to the sink
 * synchronously, in order, from within `push`.
 */
export class BoundedLineReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Inside an oversized line: its first bytes, and the last bytes seen so far. */
  private skipped: { head: Buffer; tail: Buffer } | undefined;

  constructor(
    private readonly maxLineBytes: number,
    private readonly sink: LineSink,
  ) {}

  /** Feeds a chunk; completed lines reach the sink before this returns. */
  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      this.append(chunk.subarray(start, end));
      if (newline === -1) return;
      this.finishLine();
      start = newline + 1;
    }
  }

  /** The stream ended: an unfinished line is handed on as a last line. */
  end(): void {
    if (this.skipped !== undefined || this.pendingBytes > 0) this.finishLine();
  }

  private finishLine(): void {
    const skipped = this.skipped;
    if (skipped !== undefined) {
      this.skipped = undefined;
      this.sink.oversized(skipped.head, skipped.tail);
      return;
    }
    const line = this.pending.length === 1 && this.pending[0] ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.sink.line(line);
  }

  private append(part: Buffer): void {
    if (part.length === 0) return;
    const skipped = this.skipped;
    if (skipped !== undefined) {
      if (skipped.head.length < ID_SCAN_BYTES) {
        const head = Buffer.concat([skipped.head, part.subarray(0, ID_SCAN_BYTES - skipped.head.length)]);
        skipped.head = head;
      }
      skipped.tail = lastBytes(skipped.tail, part);
      return;
    }
    if (this.pendingBytes + part.length <= this.maxLineBytes) {
      this.pending.push(part);
      this.pendingBytes += part.length;
      return;
    }
    const held = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    const head = Buffer.concat([held.subarray(0, ID_SCAN_BYTES), part.subarray(0, ID_SCAN_BYTES)]);
    this.skipped = {
      head: Buffer.from(head.subarray(0, ID_SCAN_BYTES)),
      tail: lastBytes(held, part),
    };
    this.sink.overflowed?.();
  }
}

/** The last {@link ID_SCAN_BYTES} of `before` followed by `part`, copied (no big buffer is kept alive). */
export function lastBytes(before: Buffer, part: Buffer): Buffer {
  if (part.length >= ID_SCAN_BYTES) return Buffer.from(part.subarray(part.length - ID_SCAN_BYTES));
  const joined = Buffer.concat([before.subarray(Math.max(0, before.length - ID_SCAN_BYTES)), part]);
  return Buffer.from(joined.subarray(Math.max(0, joined.length - ID_SCAN_BYTES)));
}
