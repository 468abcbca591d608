import { describe, expect, it } from 'vitest';
import type { ConnectionState } from '../connections/index.js';
import { connectionKeyFor, sessionConnectionKey } from './connection-keys.js';
import { sessionCapReached, sessionCapsOf } from './session-caps.js';

/** A pool as the caps read it: keys and their states. */
function poolOf(states: Record<string, ConnectionState>) {
  return {
    keys: () => Object.keys(states),
    state: (key: string): ConnectionState => states[key] ?? 'disconnected',
  };
}

const keyOf = (session: string, user: string, server = 'files') =>
  sessionConnectionKey(connectionKeyFor('app', server, user, 'relay'), session, user);

describe('sessionCapReached', () => {
  const caps = { perUser: 2, total: 3 };

  it("counts only the user's connections to the same server that hold their upstream", () => {
    const pool = poolOf({
      [keyOf('s1', 'alice')]: 'connected',
      [keyOf('s2', 'alice')]: 'connecting',
      [keyOf('s3', 'alice')]: 'error',
      [keyOf('s4', 'alice', 'other')]: 'connected',
      'relay|app|files': 'connected',
    });
    expect(sessionCapReached(pool, keyOf('s5', 'alice'), { perUser: 2, total: 10 })).toEqual({
      capReached: 'perUser',
      limit: 2,
    });
    expect(sessionCapReached(pool, keyOf('s5', 'bob'), { perUser: 2, total: 10 })).toBeNull();
  });

  it('applies the total over every user and server', () => {
    const pool = poolOf({
      [keyOf('s1', 'alice')]: 'connected',
      [keyOf('s2', 'bob')]: 'connected',
      [keyOf('s3', 'carol', 'other')]: 'connecting',
    });
    expect(sessionCapReached(pool, keyOf('s4', 'dan'), caps)).toEqual({ capReached: 'total', limit: 3 });
  });

  it('lets a session reuse its own live connection at the cap', () => {
    const mine = keyOf('s1', 'alice');
    const pool = poolOf({ [mine]: 'connected', [keyOf('s2', 'alice')]: 'connected' });
    expect(sessionCapReached(pool, mine, caps)).toBeNull();
  });

  it('takes the defaults (3 per user and server, 100 in all) where mcpSettings sets none, and 0 as none at all', () => {
    expect(sessionCapsOf({})).toEqual({ perUser: 3, total: 100 });
    const pool = poolOf({});
    expect(
      sessionCapReached(pool, keyOf('s1', 'alice'), sessionCapsOf({ maxSessionConnections: 0 })),
    ).toEqual({
      capReached: 'perUser',
      limit: 0,
    });
  });
});
