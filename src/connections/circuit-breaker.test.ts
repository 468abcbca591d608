import { describe, expect, it } from 'vitest';
import type { Clock, Random } from '../core/index.js';
import { CircuitBreaker } from './circuit-breaker.js';

function setup(unit: number): { breaker: CircuitBreaker; advance: (ms: number) => void } {
  let now = 0;
  const clock: Clock = { now: () => now };
  // A fixed "random" value: bytes whose uint32 reading is unit · 2^32.
  const random: Random = {
    bytes: () =>
      Buffer.from(
        Math.floor(unit * 2 ** 32)
          .toString(16)
          .padStart(8, '0'),
        'hex',
      ),
  };
  const breaker = new CircuitBreaker(
    { failureThreshold: 3, baseCooldownMs: 1_000, maxCooldownMs: 8_000 },
    clock,
    random,
  );
  return { breaker, advance: (ms) => (now += ms) };
}

describe('CircuitBreaker', () => {
  it('FT-10: opens after the threshold, for a jittered cool-down that doubles on each half-open failure', () => {
    const { breaker, advance } = setup(0.5); // jitter at its middle: 75 % of the ceiling
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.check()).toEqual({ allowed: true });
    breaker.recordFailure();
    expect(breaker.check()).toEqual({ allowed: false, retryAfterMs: 750 });
    advance(750);
    expect(breaker.check()).toEqual({ allowed: true }); // half-open
    breaker.recordFailure();
    expect(breaker.check()).toEqual({ allowed: false, retryAfterMs: 1_500 });
    advance(1_500);
    breaker.recordFailure();
    advance(3_000);
    breaker.recordFailure();
    expect(breaker.check()).toEqual({ allowed: false, retryAfterMs: 6_000 }); // 8 s ceiling
    advance(6_000);
    breaker.recordFailure(); // 16 s would be next: capped at 8 s
    expect(breaker.check()).toEqual({ allowed: false, retryAfterMs: 6_000 });
  });

  it('a success closes it and forgets the history', () => {
    const { breaker, advance } = setup(0);
    for (let i = 0; i < 3; i += 1) breaker.recordFailure();
    expect(breaker.open).toBe(true);
    advance(500);
    breaker.recordSuccess();
    expect(breaker.open).toBe(false);
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.check()).toEqual({ allowed: true });
  });
});
