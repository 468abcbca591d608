import { type Clock, systemClock } from '../core/index.js';

/** setTimeout's ceiling; a longer idle timeout means "never". */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One connection's idle countdown: restarted by activity, stopped while requests run.
 *
 * Each tool call stops the countdown and restarts it, so it keeps one deadline and at most one
 * timer instead of clearing and setting a timer twice per call: a timer that fires before the
 * current deadline sets itself again for what is left, and one that fires while stopped does
 * nothing. The timer does not keep the process alive.
 */
export class IdleTimer {
  private timer: NodeJS.Timeout | undefined;
  /** When the pending timer fires (epoch ms). */
  private firesAt = 0;
  /** When the countdown ends (epoch ms); undefined while stopped. */
  private deadline: number | undefined;

  constructor(
    private readonly onIdle: () => void,
    private readonly clock: Clock = systemClock,
  ) {}

  /** (Re)starts the countdown; `ms` of 0 (or beyond what setTimeout allows) means never. */
  restart(ms: number): void {
    if (!(ms > 0) || ms > MAX_TIMER_MS) {
      this.stop();
      return;
    }
    const deadline = this.clock.now() + ms;
    this.deadline = deadline;
    // A pending timer that fires by the deadline is kept: it sets itself again when early.
    if (this.timer !== undefined && this.firesAt <= deadline) return;
    this.schedule(ms);
  }

  /** Stops the countdown (a pending timer, if any, fires and finds nothing to do). */
  stop(): void {
    this.deadline = undefined;
  }

  /** Stops the countdown and drops its timer: the connection is gone, not just busy. */
  cancel(): void {
    this.deadline = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.firesAt = this.clock.now() + ms;
    this.timer = setTimeout(() => this.fire(), ms);
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const deadline = this.deadline;
    if (deadline === undefined) return;
    const left = deadline - this.clock.now();
    if (left > 0) {
      this.schedule(left);
      return;
    }
    this.deadline = undefined;
    this.onIdle();
  }
}
