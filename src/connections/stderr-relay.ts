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
  /**
   * Values never to log (the secrets the child was given in its environment): each occurrence
   * becomes `[redacted]`, as does a line's end that starts one (a line cut mid-secret).
   */
  secrets?: readonly string[];
}

/** Shorter values are too likely to be ordinary words to mask, and too short to be keys. */
const MIN_SECRET_LENGTH = 8;
/** A cut-off end of a line shorter than this is not treated as the start of a secret. */
const MIN_SECRET_PREFIX = 4;

/** `line` with every occurrence, and a trailing start, of each secret replaced. */
function maskSecrets(line: string, secrets: readonly string[]): string {
  let masked = line;
  for (const secret of secrets) masked = masked.split(secret).join('[redacted]');
  for (const secret of secrets) {
    for (let length = Math.min(secret.length - 1, masked.length); length >= MIN_SECRET_PREFIX; length -= 1) {
      if (masked.endsWith(secret.slice(0, length))) {
        masked = `${masked.slice(0, masked.length - length)}[redacted]`;
        break;
      }
    }
  }
  return masked;
}

// A server's stderr is free text; these words are how most runtimes flag trouble worth seeing.
const TROUBLE = /\b(error|fatal|panic|exception|traceback|uncaught)\b/i;

/**
 * Sends a child's stderr to the log one line at a time, truncated and rate-bounded, so a chatty
 * or hostile server can neither flood the log nor grow our memory. Lines go at `debug` unless they
 * look like errors (`warn`). The secrets the hub gave the child are masked; anything else the
 * server prints is logged as it is, which is why most lines stay at `debug`.
 */
export class StderrRelay {
  private readonly splitter: LineSplitter;
  private readonly maxLines: number;
  private readonly windowMs: number;
  private readonly secrets: readonly string[];
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
    // Longest first, so a secret that contains another is masked whole.
    this.secrets = [...new Set(limits.secrets ?? [])]
      .filter((s) => s.length >= MIN_SECRET_LENGTH)
      .sort((a, b) => b.length - a.length);
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
    const line = maskSecrets(raw.toString('utf8').replace(/\r$/, ''), this.secrets);
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
