import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IdleTimer } from './idle-timer.js';

describe('IdleTimer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires once, the full timeout after the last restart, however many restarts came before', () => {
    let fired = 0;
    const timer = new IdleTimer(() => (fired += 1));
    for (let i = 0; i < 100; i += 1) {
      timer.restart(1_000);
      vi.advanceTimersByTime(300);
    }
    // The last restart was 300 ms ago: 700 ms are left.
    vi.advanceTimersByTime(699);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(fired).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps at most one timer while restarted and stopped call after call', () => {
    const timer = new IdleTimer(() => undefined);
    for (let i = 0; i < 50; i += 1) {
      timer.stop();
      timer.restart(60_000);
      expect(vi.getTimerCount()).toBe(1);
    }
  });

  it('does not fire while stopped, and fires after a restart that follows', () => {
    let fired = 0;
    const timer = new IdleTimer(() => (fired += 1));
    timer.restart(1_000);
    timer.stop();
    vi.advanceTimersByTime(5_000);
    expect(fired).toBe(0);
    timer.restart(1_000);
    vi.advanceTimersByTime(1_000);
    expect(fired).toBe(1);
  });

  it('a shorter timeout than the pending timer fires on time', () => {
    let fired = 0;
    const timer = new IdleTimer(() => (fired += 1));
    timer.restart(60_000);
    timer.restart(500);
    vi.advanceTimersByTime(500);
    expect(fired).toBe(1);
  });

  it('0 or a timeout past what setTimeout allows means never; cancel drops the timer', () => {
    let fired = 0;
    const timer = new IdleTimer(() => (fired += 1));
    timer.restart(1_000);
    timer.restart(0);
    timer.restart(2 ** 31);
    vi.advanceTimersByTime(10_000);
    expect(fired).toBe(0);
    timer.restart(1_000);
    timer.cancel();
    expect(vi.getTimerCount()).toBe(0);
  });
});
