import type { Random } from '../core/index.js';
import { HubError } from '../errors/index.js';
import { checkTtlMs, type KvErrorReporter } from './errors.js';
import type { Kv, KvLock, KvUnsubscribe, KvWithLockOptions } from './types.js';

/** The key a lock lives under; shared by both implementations so their data looks the same. */
export function lockKey(name: string): string {
  return `lock:${name}`;
}

/** The channel a holder's release is announced on, so waiters wake at once instead of polling. */
export function lockReleasedChannel(name: string): string {
  return `lock-released:${name}`;
}

/** 128 random bits: a holder proves ownership with it, so it must not be guessable. */
export function newLockToken(random: Random): string {
  return random.bytes(16).toString('hex');
}

/** How {@link runWithLock} waits. */
export interface LockWaitSettings {
  /** Re-try interval while waiting; expiry of a dead holder's lock announces nothing. */
  pollMs: number;
  onError: KvErrorReporter;
  /** Aborted by the store's close(), so a waiter stops at once instead of at its next poll. */
  closed: AbortSignal;
}

/**
 * The one `withLock` both implementations share: try, else wait for a release event or the next
 * poll until `waitMs` passes, run `fn`, release in `finally`.
 * Waiting is measured with real timers, not the injected clock: a fake clock that never advances
 * must not make a waiter spin forever.
 */
export async function runWithLock<T>(
  kv: Pick<Kv, 'acquireLock' | 'subscribe'>,
  settings: LockWaitSettings,
  name: string,
  opts: KvWithLockOptions,
  fn: () => Promise<T>,
): Promise<T> {
  const ttlMs = checkTtlMs(opts.ttlMs);
  if (!Number.isFinite(opts.waitMs) || opts.waitMs < 0) {
    throw new HubError('HUB_ERR_INTERNAL', { message: 'KV waitMs must be a finite number >= 0' });
  }
  const lock =
    (await kv.acquireLock(name, ttlMs)) ?? (await waitForLock(kv, settings, name, ttlMs, opts.waitMs));
  try {
    return await fn();
  } finally {
    try {
      if (!(await lock.release())) {
        // The work outlived ttlMs, so another holder may have run concurrently: worth a log line.
        settings.onError(
          new HubError('HUB_ERR_CONFLICT', { message: 'Lock expired before release' }),
          'lock-release',
        );
      }
    } catch (error) {
      // The lock expires by its TTL anyway; a failed release must not replace fn's outcome.
      settings.onError(error, 'lock-release');
    }
  }
}

async function waitForLock(
  kv: Pick<Kv, 'acquireLock' | 'subscribe'>,
  settings: LockWaitSettings,
  name: string,
  ttlMs: number,
  waitMs: number,
): Promise<KvLock> {
  if (waitMs === 0) throw lockBusy();
  // `notified` covers a release that lands while an acquire is in flight, before anyone sleeps.
  let notified = false;
  let wakeSleeper: (() => void) | undefined;
  const notify = (): void => {
    notified = true;
    wakeSleeper?.();
  };

  let unsubscribe: KvUnsubscribe | undefined;
  try {
    // Subscribe before the next attempt so a release between the two cannot be missed.
    unsubscribe = await kv.subscribe(lockReleasedChannel(name), notify);
  } catch (error) {
    settings.onError(error, 'lock-wait'); // polling alone still gets the lock, only later
  }

  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    notify();
  }, waitMs);
  // After close the next acquire rejects with HUB_ERR_NOT_READY, which ends the wait.
  settings.closed.addEventListener('abort', notify);
  try {
    for (;;) {
      notified = false;
      const lock = await kv.acquireLock(name, ttlMs);
      if (lock) return lock;
      if (timedOut) throw lockBusy();
      if (!notified) {
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            clearTimeout(pollTimer);
            wakeSleeper = undefined;
            resolve();
          };
          const pollTimer = setTimeout(wake, settings.pollMs);
          wakeSleeper = wake;
        });
      }
    }
  } finally {
    clearTimeout(deadline);
    settings.closed.removeEventListener('abort', notify);
    if (unsubscribe) {
      try {
        await unsubscribe();
      } catch (error) {
        settings.onError(error, 'lock-wait');
      }
    }
  }
}

function lockBusy(): HubError {
  return new HubError('HUB_ERR_CONFLICT', { message: 'Lock busy' });
}
