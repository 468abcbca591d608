/** Thrown by a {@link LineSplitter} in `throw` mode when a line grows past its bound. */
export class LineTooLongError extends Error {
  constructor(readonly maxLineBytes: number) {
    super(`line longer than ${maxLineBytes} bytes`);
    this.name = 'LineTooLongError';
  }
}

/** What a splitter does with a line longer than its bound. */
export type LineOverflow = 'throw' | 'truncate';

/**
 * Splits a byte stream on `\n` while holding at most `maxLineBytes` of an unfinished line, so a peer
 * that never sends a newline cannot grow our memory (SX-06 in docs/security.md).
 * - `throw`: an over-long line is an error (stdout: a protocol frame we cannot trust);
 * - `truncate`: the first `maxLineBytes` are kept as the line and the rest is dropped (stderr logs).
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Truncate mode: the head of an over-long line was emitted; drop bytes until its newline. */
  private skipping = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly overflow: LineOverflow,
  ) {}

  /** Feeds a chunk and returns the lines it completed, without their `\n` (a trailing `\r` stays). */
  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      this.append(chunk.subarray(start, end), lines);
      if (newline === -1) return lines;
      if (this.skipping) this.skipping = false;
      else lines.push(this.takePending());
      start = newline + 1;
    }
  }

  /** The unfinished line, if any, as a last line (for a stream that ended without a newline). */
  end(): Buffer | undefined {
    const rest = this.skipping || this.pendingBytes === 0 ? undefined : this.takePending();
    this.skipping = false;
    return rest;
  }

  private append(part: Buffer, lines: Buffer[]): void {
    if (part.length === 0 || this.skipping) return;
    if (this.pendingBytes + part.length <= this.maxLineBytes) {
      this.pending.push(part);
      this.pendingBytes += part.length;
      return;
    }
    if (this.overflow === 'throw') {
      this.pending = [];
      this.pendingBytes = 0;
      throw new LineTooLongError(this.maxLineBytes);
    }
    this.pending.push(part.subarray(0, this.maxLineBytes - this.pendingBytes));
    lines.push(this.takePending());
    this.skipping = true;
  }

  private takePending(): Buffer {
    const line = this.pending.length === 1 && this.pending[0] ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return line;
  }
}
