/** Which limit ended a request: the timeout progress restarts, or the total bound nothing extends. */
export type CallLimit = 'timeout' | 'total';

/**
 * One request's timeout, kept by the hub rather than the SDK so that it can stand still: it
 * restarts at every progress notification (as the SDK's would), stops while the client is
 * answering the upstream's own request for this call (a person filling in an elicitation form, a
 * model sampling), and may have a total bound that nothing extends.
 */
export class CallTimer {
  private timer: NodeJS.Timeout | undefined;
  private readonly bound: NodeJS.Timeout | undefined;
  private held = 0;
  private stopped = false;

  /** `fire` hears which limit ended the request: the restartable timeout or the total bound. */
  constructor(
    private readonly timeoutMs: number,
    private readonly fire: (limit: CallLimit) => void,
    maxTotalMs?: number,
  ) {
    this.arm();
    if (maxTotalMs !== undefined) this.bound = setTimeout(() => this.expire('total'), maxTotalMs);
  }

  /** Progress: the countdown starts again (unless held). */
  touch(): void {
    if (this.held === 0) this.arm();
  }

  /** Stops the countdown until the returned function is called (once); holds nest. */
  hold(): () => void {
    this.held += 1;
    clearTimeout(this.timer);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= 1;
      if (this.held === 0) this.arm();
    };
  }

  /** The request ended: no timer fires any more. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.bound);
  }

  private arm(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.expire('timeout'), this.timeoutMs);
  }

  private expire(limit: CallLimit): void {
    if (this.stopped) return;
    this.stop();
    this.fire(limit);
  }
}
