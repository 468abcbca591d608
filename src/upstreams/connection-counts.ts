import type { ConnectionPool } from '../connections/index.js';
import { parseConnectionKey } from './connection-keys.js';

/** One server's connections in this instance's pool (other instances hold their own). */
export interface ConnectionCounts {
  connected: number;
  connecting: number;
  error: number;
  /** Distinct users with at least one live (connected) connection; 0 for a shared (app-level) server. */
  usersConnected: number;
}

/** This instance's pool by server name (every profile counted); read-only, connects nothing. */
export function countConnectionsByServer(
  pool: Pick<ConnectionPool, 'keys' | 'state'>,
): Map<string, ConnectionCounts> {
  const counts = new Map<string, ConnectionCounts>();
  const users = new Map<string, Set<string>>();
  for (const key of pool.keys()) {
    const parts = parseConnectionKey(key);
    const state = pool.state(key);
    if (parts === null || state === 'disconnected') continue;
    const entry = counts.get(parts.serverName) ?? {
      connected: 0,
      connecting: 0,
      error: 0,
      usersConnected: 0,
    };
    entry[state] += 1;
    counts.set(parts.serverName, entry);
    if (state === 'connected' && parts.userId !== null) {
      const seen = users.get(parts.serverName) ?? new Set<string>();
      seen.add(parts.userId);
      users.set(parts.serverName, seen);
      entry.usersConnected = seen.size;
    }
  }
  return counts;
}
