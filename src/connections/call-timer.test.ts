import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CallTimer } from './call-timer.js';

describe('CallTimer', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('fires after its timeout, and progress starts the countdown again', () => {
    const fire = vi.fn();
    const timer = new CallTimer(1_000, fire);
    vi.advanceTimersByTime(900);
    timer.touch();
    vi.advanceTimersByTime(900);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(100);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('stands still while held (holds nest), then counts a whole timeout again', () => {
    const fire = vi.fn();
    const timer = new CallTimer(1_000, fire);
    const first = timer.hold();
    const second = timer.hold();
    timer.touch(); // progress while held does not restart anything
    vi.advanceTimersByTime(10_000);
    first();
    first(); // a release counts once
    vi.advanceTimersByTime(10_000);
    expect(fire).not.toHaveBeenCalled();
    second();
    vi.advanceTimersByTime(999);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('a total bound fires whatever progress or holds say, once; stop silences everything', () => {
    const fire = vi.fn();
    const bounded = new CallTimer(1_000, fire, 2_500);
    bounded.hold();
    vi.advanceTimersByTime(2_500);
    expect(fire).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(fire).toHaveBeenCalledTimes(1);
    const stopped = new CallTimer(1_000, fire, 2_000);
    stopped.stop();
    vi.advanceTimersByTime(10_000);
    expect(fire).toHaveBeenCalledTimes(1);
  });
});
