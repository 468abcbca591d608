/** setTimeout's ceiling; a longer idle timeout means "never". */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One connection's idle countdown: restarted by activity, stopped while requests run. */
export class IdleTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly onIdle: () => void) {}

  /** (Re)starts the countdown; `ms` of 0 (or beyond what setTimeout allows) means never. */
  restart(ms: number): void {
    this.stop();
    if (!(ms > 0) || ms > MAX_TIMER_MS) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onIdle();
    }, ms);
  }

  /** Stops the countdown. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
