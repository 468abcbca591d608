import { RequestSignal } from '../core/index.js';
import { egressTimedOut } from './egress-errors.js';

/**
 * One request's abort signal: the caller's signal, the total time cap (SS-16) and the guard's own
 * reasons (a body over its size cap) all end it. A {@link RequestSignal}, which undici's dispatcher
 * API reads as it would an `AbortSignal`, because Node 20 takes microseconds to make an
 * `AbortSignal`, on every upstream request. A listener on the caller's signal rather than
 * `AbortSignal.any`, because MCP transports pass one long-lived signal for every request and the
 * listener must go when the request ends.
 */
export class Deadline {
  readonly signal = new RequestSignal();
  private timer: NodeJS.Timeout | undefined;
  private readonly callerSignal: AbortSignal | undefined;
  private readonly onCallerAbort = (): void => {
    this.abort(this.callerSignal?.reason);
  };

  /** `timeoutMs` of `Infinity` sets no time cap. */
  constructor(timeoutMs: number, callerSignal: AbortSignal | undefined) {
    this.callerSignal = callerSignal;
    if (callerSignal?.aborted === true) {
      this.signal.abort(callerSignal.reason);
      return;
    }
    callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
    if (Number.isFinite(timeoutMs)) {
      this.timer = setTimeout(() => this.abort(egressTimedOut()), timeoutMs);
    }
  }

  /** Ends the request with `reason` (the caller's own reason passes through unchanged). */
  abort(reason: unknown): void {
    this.stopTimer();
    this.signal.abort(reason);
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
