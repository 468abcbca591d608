import type { Clock } from '../core/index.js';
import { isHubError } from '../errors/index.js';
import { failureText } from './failure-text.js';

/**
 * The last time this instance failed to connect to a server: the hub's own safe message (never
 * the upstream's words, a URL or a token), when, and how many failures since the hub started.
 */
export interface ConnectFailure {
  message: string;
  at: number;
  count: number;
}

/** Servers whose last failure is remembered; the oldest record goes first past this many. */
const MAX_FAILURES = 2_000;

/** Each server's latest connect failure on this instance (the status routes report it). */
export class ConnectFailures {
  private readonly failures = new Map<string, ConnectFailure>();

  constructor(private readonly clock: Clock) {}

  /** Keeps the server's latest failure; a refusal by its open circuit or a closing pool is not a new one. */
  note(serverName: string, err: unknown): void {
    if (isHubError(err, 'HUB_ERR_CIRCUIT_OPEN') || isHubError(err, 'HUB_ERR_NOT_READY')) return;
    const previous = this.failures.get(serverName);
    this.failures.delete(serverName);
    if (this.failures.size >= MAX_FAILURES) this.failures.delete(this.failures.keys().next().value ?? '');
    this.failures.set(serverName, {
      message: failureText(err),
      at: this.clock.now(),
      count: (previous?.count ?? 0) + 1,
    });
  }

  last(serverName: string): ConnectFailure | undefined {
    return this.failures.get(serverName);
  }
}
