import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock, Random } from '../core/index.js';
import { HubError } from '../errors/index.js';
import type { Logger } from '../observability/index.js';
import { jitteredDelay } from './backoff.js';
import { isRetryableConnectError } from './upstream-errors.js';

/** Retries inside one acquire, all within its `initTimeoutMs`. */
export interface RetrySettings {
  /** Attempts per acquire, the first included. Default 3. */
  attempts: number;
  /** Delay before the first retry; doubles each time, with jitter. Default 250 ms. */
  baseDelayMs: number;
  /** Default 2 s. */
  maxDelayMs: number;
}

/** Defaults of {@link RetrySettings}. */
export const DEFAULT_RETRY: RetrySettings = { attempts: 3, baseDelayMs: 250, maxDelayMs: 2_000 };

/** What {@link connectWithRetries} runs with. */
export interface RetryContext {
  settings: RetrySettings;
  /** The whole budget: attempts and the waits between them. */
  budgetMs: number;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Abandons the loop (disconnect, replacement, pool close). */
  signal: AbortSignal;
}

/**
 * Runs `attempt` (given the time left) until it succeeds, the error is not worth retrying, the
 * attempts are used up, or the next wait would pass the budget; backs off with jitter between.
 */
export async function connectWithRetries<T>(
  attempt: (remainingMs: number) => Promise<T>,
  context: RetryContext,
): Promise<T> {
  const { settings, clock, signal } = context;
  const deadline = clock.now() + context.budgetMs;
  for (let tried = 0; ; tried += 1) {
    const remaining = deadline - clock.now();
    if (remaining <= 0) {
      throw new HubError('HUB_ERR_UPSTREAM_TIMEOUT', {
        message: 'MCP server did not finish connecting in time',
      });
    }
    try {
      return await attempt(remaining);
    } catch (error) {
      const delay = jitteredDelay(tried, settings.baseDelayMs, settings.maxDelayMs, context.random);
      const giveUp =
        signal.aborted ||
        tried + 1 >= settings.attempts ||
        !isRetryableConnectError(error) ||
        clock.now() + delay >= deadline;
      if (giveUp) throw error;
      context.logger.debug(
        { err: error, attempt: tried + 1, delayMs: delay },
        'connect attempt failed; retrying',
      );
      await sleep(delay, undefined, { signal });
    }
  }
}
