import { EventEmitter } from 'node:events';
import { egressTimedOut } from './egress-errors.js';

/**
 * One request's end, and the request's signal itself: the caller's signal, the total time cap
 * (SS-16) and the guard's own reasons (a body over its size cap) all end it. It is the kind of
 * signal undici's dispatcher API takes besides an `AbortSignal` (an emitter of `abort` with
 * `aborted` and `reason`), because Node 20 takes microseconds to make an `AbortSignal`, on every
 * upstream request. A listener on the caller's signal rather than `AbortSignal.any`, because MCP
 * transports pass one long-lived signal for every request and the listener must go when the
 * request ends.
 */
export class Deadline extends EventEmitter {
  /** True once the request has been ended. */
  aborted = false;
  /** Why it was ended (undefined until then). */
  reason: unknown = undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly callerSignal: AbortSignal | undefined;
  private readonly onCallerAbort = (): void => {
    this.abort(this.callerSignal?.reason);
  };

  /** `timeoutMs` of `Infinity` sets no time cap. */
  constructor(timeoutMs: number, callerSignal: AbortSignal | undefined) {
    super();
    this.callerSignal = callerSignal;
    if (callerSignal?.aborted === true) {
      this.abort(callerSignal.reason);
      return;
    }
    callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
    if (Number.isFinite(timeoutMs)) {
      this.timer = setTimeout(() => this.abort(egressTimedOut()), timeoutMs);
    }
  }

  /**
   * Ends the request with `reason` (the caller's own reason passes through unchanged; none gives
   * an `AbortError`, as `AbortController.abort()` would). Only the first call counts.
   */
  abort(reason: unknown): void {
    this.stopTimer();
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new DOMException('This operation was aborted', 'AbortError');
    this.emit('abort');
  }

  /** Lifts the time cap but keeps the caller's signal: a stream may now run as long as it likes. */
  stopTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The request is over: drop the timer and the listener on the caller's signal. */
  dispose(): void {
    this.stopTimer();
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }
}
