import type { McpSettings } from '../config/index.js';
import type { ConnectionPool, ConnectionState } from '../connections/index.js';
import { parseConnectionKey } from './connection-keys.js';

/** Session-bound connections one user may hold to one server, all their sessions together. */
export const DEFAULT_MAX_SESSION_CONNECTIONS = 3;
/** Session-bound connections in one hub instance, every user and server together. */
export const DEFAULT_MAX_SESSION_CONNECTIONS_TOTAL = 100;

/** The two caps on connections bound to one downstream session (each may be a stdio process). */
export interface SessionCaps {
  perUser: number;
  total: number;
}

/** Which cap a new session-bound connection would pass, and its value. */
export interface SessionCapReached {
  capReached: 'perUser' | 'total';
  limit: number;
}

/** The caps `mcpSettings` sets, defaults for those it leaves out. */
export function sessionCapsOf(
  settings: Pick<McpSettings, 'maxSessionConnections' | 'maxSessionConnectionsTotal'>,
): SessionCaps {
  return {
    perUser: settings.maxSessionConnections ?? DEFAULT_MAX_SESSION_CONNECTIONS,
    total: settings.maxSessionConnectionsTotal ?? DEFAULT_MAX_SESSION_CONNECTIONS_TOTAL,
  };
}

/** A connection that holds its upstream (a process, a socket): one connected or on its way. */
const holdsUpstream = (state: ConnectionState): boolean => state === 'connected' || state === 'connecting';

/**
 * Whether opening the session-bound connection `key` would pass a cap, counted from the pool as
 * it is now rather than from a counter that could drift: a connection that closed, went idle or
 * failed no longer counts. A key that already holds its upstream is reused, so it passes nothing.
 * The caller must open the key in the same synchronous step as this check (no `await` between):
 * the pool marks it connecting at once, so sessions connecting at the same moment count each other.
 */
export function sessionCapReached(
  pool: Pick<ConnectionPool, 'keys' | 'state'>,
  key: string,
  caps: SessionCaps,
): SessionCapReached | null {
  const wanted = parseConnectionKey(key);
  if (wanted === null || holdsUpstream(pool.state(key))) return null;
  let total = 0;
  let theirs = 0;
  for (const other of pool.keys()) {
    const parts = parseConnectionKey(other);
    if (parts?.sessionId == null || !holdsUpstream(pool.state(other))) continue;
    total += 1;
    if (parts.sessionOwner === wanted.sessionOwner && parts.serverName === wanted.serverName) theirs += 1;
  }
  if (theirs >= caps.perUser) return { capReached: 'perUser', limit: caps.perUser };
  if (total >= caps.total) return { capReached: 'total', limit: caps.total };
  return null;
}
