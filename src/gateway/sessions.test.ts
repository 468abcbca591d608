import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ListChangedGate } from './list-changed-gate.js';
import type { SessionTransport } from './session-transport.js';
import { GatewaySessions, type GatewaySession } from './sessions.js';

describe('GatewaySessions', () => {
  let now = 0;
  const clock = { now: () => now };
  const closed: string[] = [];
  const made: GatewaySessions[] = [];

  const hold = (limits: { perUser: number; total: number }): GatewaySessions => {
    const sessions = new GatewaySessions(clock, { idleMs: 60_000, ...limits });
    made.push(sessions);
    return sessions;
  };
  /** A copy whose server records its close; nothing else of it is used here. */
  const copy = (id: string, userId: string): GatewaySession => ({
    id,
    userId,
    endpoint: null,
    server: { close: () => Promise.resolve(void closed.push(id)) } as unknown as Server,
    transport: {} as SessionTransport,
    gate: new ListChangedGate(() => Promise.resolve()),
    deliverUpdated: () => undefined,
    lastActive: now,
  });

  afterEach(async () => {
    for (const sessions of made.splice(0)) await sessions.closeAll();
    closed.length = 0;
  });

  it('past the per-user limit, closes that user’s least recently used copy, not another user’s', () => {
    const sessions = hold({ perUser: 2, total: 100 });
    sessions.add(copy('a1', 'alice'));
    sessions.add(copy('b1', 'bob'));
    sessions.add(copy('a2', 'alice'));
    now += 1;
    expect(sessions.find('a1', 'alice', null)).toBeDefined(); // a1 is now the more recent of Alice's
    sessions.add(copy('a3', 'alice'));
    expect(closed).toEqual(['a2']);
    expect(sessions.ofUser('alice').map((s) => s.id)).toEqual(['a1', 'a3']);
    expect(sessions.ofUser('bob').map((s) => s.id)).toEqual(['b1']);
  });

  it('past the instance limit, closes the least recently used copy of anyone', () => {
    const sessions = hold({ perUser: 10, total: 3 });
    sessions.add(copy('a1', 'alice'));
    sessions.add(copy('b1', 'bob'));
    sessions.add(copy('c1', 'carol'));
    expect(sessions.find('a1', 'alice', null)).toBeDefined();
    sessions.add(copy('d1', 'dave'));
    expect(closed).toEqual(['b1']);
    expect(sessions.size).toBe(3);
    expect(sessions.get('b1')).toBeUndefined();
    expect(sessions.ofUser('bob')).toEqual([]);
    // 1 000 sessions from one flood of users: the instance still holds 3.
    for (let i = 0; i < 1_000; i++) sessions.add(copy(`x${i}`, `user${i}`));
    expect(sessions.size).toBe(3);
    expect(sessions.all().map((s) => s.id)).toEqual(['x997', 'x998', 'x999']);
  });

  it('a copy is found only by its own user; forgetting one drops it from both indexes', () => {
    const sessions = hold({ perUser: 5, total: 5 });
    sessions.add(copy('a1', 'alice'));
    expect(sessions.find('a1', 'bob', null)).toBeUndefined();
    sessions.forget('a1');
    expect(sessions.get('a1')).toBeUndefined();
    expect(sessions.ofUser('alice')).toEqual([]);
    expect(closed).toEqual([]);
  });
});
