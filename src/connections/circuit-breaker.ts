import type { Clock, Random } from '../core/index.js';
import { jitteredDelay } from './backoff.js';

/** Tuning of a {@link CircuitBreaker}. */
export interface BreakerSettings {
  /** Consecutive failed acquires that open the circuit. Default 3. */
  failureThreshold: number;
  /** First cool-down; each re-opening doubles it (with jitter). Default 2 s. */
  baseCooldownMs: number;
  /** Longest cool-down. Default 5 min. */
  maxCooldownMs: number;
}

/** Defaults of {@link BreakerSettings}. */
export const DEFAULT_BREAKER: BreakerSettings = {
  failureThreshold: 3,
  baseCooldownMs: 2_000,
  maxCooldownMs: 300_000,
};

/** What the breaker says about one more attempt. */
export type BreakerVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * One upstream's circuit breaker, so a dead server is not hammered (FT-10 in docs/security.md).
 * Closed: attempts pass. After `failureThreshold` consecutive failures it opens for a cool-down;
 * once that has passed it is half-open: an attempt passes (the pool runs one at a time per key),
 * and its failure re-opens the circuit for twice as long, its success closes it.
 */
export class CircuitBreaker {
  private failures = 0;
  private openings = 0;
  private openUntil = 0;

  constructor(
    private readonly settings: BreakerSettings,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  /** Whether an attempt may start now. No side effect. */
  check(): BreakerVerdict {
    const wait = this.openUntil - this.clock.now();
    return wait > 0 ? { allowed: false, retryAfterMs: wait } : { allowed: true };
  }

  /** True while attempts are refused. */
  get open(): boolean {
    return this.openUntil > this.clock.now();
  }

  /** A connect succeeded: forget every failure. */
  recordSuccess(): void {
    this.failures = 0;
    this.openings = 0;
    this.openUntil = 0;
  }

  /** A connect failed. */
  recordFailure(): void {
    this.failures += 1;
    // Half-open (opened before) fails again at once; a closed circuit waits for the threshold.
    if (this.openings === 0 && this.failures < this.settings.failureThreshold) return;
    const cooldown = jitteredDelay(
      this.openings,
      this.settings.baseCooldownMs,
      this.settings.maxCooldownMs,
      this.random,
    );
    this.openings += 1;
    this.openUntil = this.clock.now() + cooldown;
  }
}
