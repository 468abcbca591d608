import type { Random } from '../core/index.js';

/** A uniform number in [0, 1) from the injected randomness. */
export function unitInterval(random: Random): number {
  return random.bytes(4).readUInt32BE(0) / 2 ** 32;
}

/**
 * Exponential delay with "equal jitter": half of `base · 2^attempt` (capped at `max`) is fixed,
 * the other half random, so retries spread out yet never shrink to zero.
 */
export function jitteredDelay(attempt: number, baseMs: number, maxMs: number, random: Random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (ceiling / 2) * unitInterval(random));
}
