import type { ConnectionPool } from '../connections/index.js';
import type { Logger } from '../observability/index.js';
import type { ToolCache } from '../tools/index.js';

/** Shortest time between two refreshes of one key, unless set. */
const DEFAULT_MIN_INTERVAL_MS = 1_000;

/** Where one key's refreshes stand. */
interface KeyState {
  running: boolean;
  /** A notification arrived while a refresh ran: one more is owed after it. */
  dirty: boolean;
  lastStart: number;
  /** A refresh waiting for the interval to pass. */
  pending: NodeJS.Timeout | undefined;
  /** Forgets the key once the interval has passed with nothing owed. */
  expiry: NodeJS.Timeout | undefined;
}

/**
 * Refreshes of the tool cache after `notifications/tools/list_changed`, coalesced per key: at
 * most one runs at a time, notifications during it are folded into one more run after it, and
 * runs of a key start at least `minIntervalMs` apart. A server that notifies on every request
 * (its `tools/list` answers included) would otherwise make each refresh start the next, forever.
 * The last notification is always followed by a refresh, so the cache ends up current.
 */
class ToolRefreshScheduler {
  private readonly keys = new Map<string, KeyState>();
  private stopped = false;

  constructor(
    private readonly refreshOnce: (key: string) => Promise<void>,
    private readonly minIntervalMs: number,
  ) {}

  /** Asks for a refresh of `key`: now, after the running one, or once the interval has passed. */
  request(key: string): void {
    if (this.stopped) return;
    let state = this.keys.get(key);
    if (!state) {
      state = { running: false, dirty: false, lastStart: -Infinity, pending: undefined, expiry: undefined };
      this.keys.set(key, state);
    }
    if (state.running) {
      state.dirty = true;
      return;
    }
    if (state.pending) return;
    clearTimeout(state.expiry);
    state.expiry = undefined;
    const wait = state.lastStart + this.minIntervalMs - Date.now();
    if (wait <= 0) this.run(key, state);
    else state.pending = setTimeout(() => this.run(key, state), wait);
  }

  /** Cancels every waiting refresh; running ones finish without a follow-up. */
  stop(): void {
    this.stopped = true;
    for (const state of this.keys.values()) {
      clearTimeout(state.pending);
      clearTimeout(state.expiry);
    }
    this.keys.clear();
  }

  private run(key: string, state: KeyState): void {
    state.pending = undefined;
    state.running = true;
    state.lastStart = Date.now();
    void this.refreshOnce(key).finally(() => {
      state.running = false;
      if (this.stopped) return;
      if (state.dirty) {
        state.dirty = false;
        this.request(key);
        return;
      }
      state.expiry = setTimeout(() => {
        if (!state.running && !state.pending && this.keys.get(key) === state) this.keys.delete(key);
      }, this.minIntervalMs);
      state.expiry.unref();
    });
  }
}

/**
 * Keeps the tool cache true to the upstreams between connects: on `notifications/tools/list_changed`
 * the key's tools are read again from the live connection, coalesced and spaced per key (see
 * {@link ToolRefreshScheduler}). (Each new connection lists its own tools once, in the upstream
 * service; a key that disconnects keeps its last list until the next connect.)
 */
export function watchToolChanges(deps: {
  pool: ConnectionPool;
  tools: ToolCache;
  logger: Logger;
  /** Shortest time between two refreshes of one key. Default 1 s. */
  minIntervalMs?: number;
}): () => void {
  const refreshOnce = async (key: string): Promise<void> => {
    const connection = deps.pool.peek(key);
    if (!connection) return;
    await deps.tools.refresh(key, connection).catch(async (err: unknown) => {
      deps.logger.warn({ err, key }, 'could not refresh the tool list; dropping the cached one');
      await deps.tools.invalidate(key).catch(() => undefined);
    });
  };
  const scheduler = new ToolRefreshScheduler(refreshOnce, deps.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS);
  const off = deps.pool.onToolsChanged((key) => scheduler.request(key));
  return () => {
    off();
    scheduler.stop();
  };
}
