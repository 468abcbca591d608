import { HubError } from '../errors/index.js';

/**
 * Where a KV failure that has no caller to throw to happened: connection drops, subscriber
 * handlers, lock clean-up. Reported so the owner can log the fact; never thrown.
 */
export type KvErrorSource = 'connection' | 'subscriber-connection' | 'handler' | 'lock-release' | 'lock-wait';

/** Receives failures the store swallowed to keep the process alive. */
export type KvErrorReporter = (error: unknown, source: KvErrorSource) => void;

/** The default reporter: callers that want these facts logged pass their own. */
export const ignoreKvError: KvErrorReporter = () => undefined;

/**
 * Rejects a TTL Redis would reject (PX needs a positive integer), so both implementations fail the
 * same way; fractions round up so a TTL never ends early.
 */
export function checkTtlMs(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new HubError('HUB_ERR_INTERNAL', { message: 'KV ttlMs must be a positive finite number' });
  }
  return Math.ceil(ttlMs);
}

/** Runs a subscriber without letting a throw or a rejection escape into the process. */
export function deliverSafely(
  handler: (message: string) => unknown,
  message: string,
  onError: KvErrorReporter,
): void {
  try {
    const result = handler(message);
    if (result instanceof Promise) {
      result.catch((error: unknown) => onError(error, 'handler'));
    }
  } catch (error) {
    onError(error, 'handler');
  }
}

/** Seconds a client is asked to wait (`Retry-After`) when a dependency of the hub is away. */
export const DEPENDENCY_RETRY_AFTER_S = 5;

/**
 * The error for a KV command that could not run because Redis is away (disconnected, refusing,
 * or past the command timeout): a 503 naming the dependency, which the caller may retry.
 */
export function kvUnavailable(cause?: unknown): HubError {
  return new HubError('HUB_ERR_KV_UNAVAILABLE', { cause, details: { dependency: 'redis' } });
}
