import type { Clock } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import { LineSplitter } from './line-splitter.js';

/** Bounds of a {@link StderrRelay}. */
export interface StderrLimits {
  /** Longer lines are cut to this many bytes. Default 1000. */
  maxLineBytes?: number;
  /** Lines logged per window; the rest are counted and reported once. Default 50. */
  maxLinesPerWindow?: number;
  /** Default 10 s. */
  windowMs?: number;
}

// A server's stderr is free text; these words are how most runtimes flag trouble worth seeing.
const TROUBLE = /\b(error|fatal|panic|exception|traceback|uncaught)\b/i;

/**
 * Sends a child's stderr to the log one line at a time, truncated and rate-bounded, so a chatty
 * or hostile server can neither flood the log nor grow our memory. Lines go at `debug` unless they
 * look like errors (`warn`): stderr may carry whatever the server prints, secrets included.
 */
export class StderrRelay {
  private readonly splitter: LineSplitter;
  private readonly maxLines: number;
  private readonly windowMs: number;
  private windowStart: number;
  private linesInWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    limits: StderrLimits = {},
  ) {
    this.splitter = new LineSplitter(limits.maxLineBytes ?? 1000, 'truncate');
    this.maxLines = limits.maxLinesPerWindow ?? 50;
    this.windowMs = limits.windowMs ?? 10_000;
    this.windowStart = clock.now();
  }

  /** Feeds a chunk of stderr. */
  push(chunk: Buffer): void {
    for (const line of this.splitter.push(chunk)) this.emit(line);
  }

  /** Logs the unfinished last line and the count of suppressed lines; call when stderr ends. */
  end(): void {
    const rest = this.splitter.end();
    if (rest !== undefined) this.emit(rest);
    this.reportSuppressed();
  }

  private emit(raw: Buffer): void {
    const line = raw.toString('utf8').replace(/\r$/, '');
    if (line.trim() === '') return;
    const now = this.clock.now();
    if (now - this.windowStart >= this.windowMs) {
      this.reportSuppressed();
      this.windowStart = now;
      this.linesInWindow = 0;
    }
    if (this.linesInWindow >= this.maxLines) {
      this.suppressed += 1;
      return;
    }
    this.linesInWindow += 1;
    if (TROUBLE.test(line)) this.logger.warn({ stderr: line }, 'upstream stderr');
    else this.logger.debug({ stderr: line }, 'upstream stderr');
  }

  private reportSuppressed(): void {
    if (this.suppressed === 0) return;
    this.logger.warn({ suppressedLines: this.suppressed }, 'upstream stderr lines suppressed (rate limit)');
    this.suppressed = 0;
  }
}
