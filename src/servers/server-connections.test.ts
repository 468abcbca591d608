import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../observability/index.js';
import { sessionConnectionKey, type ConnectionProfile, type ServerChange } from '../upstreams/index.js';
import { createServerConnections } from './server-connections.js';

/** A pool of bare keys, a record of what was reopened and published, and the service over them. */
function setUp(options: { lost?: string[]; failing?: boolean } = {}) {
  const open = new Set<string>();
  const published: ServerChange[] = [];
  const reopened: string[] = [];
  const logger = createLogger({ level: 'silent' });
  const warn = vi.spyOn(logger, 'warn');
  const settled: Promise<void>[] = [];
  const reopen = (serverName: string, userId: string, profile: ConnectionProfile): Promise<void> => {
    const done = (async () => {
      if (options.failing) throw new Error(`upstream of ${serverName} is down`);
      reopened.push(`${profile}|${userId}`);
      open.add(profile === 'relay' ? `relay|user|${userId}|${serverName}` : `user|${userId}|${serverName}`);
    })();
    settled.push(done.catch(() => undefined));
    return done;
  };
  const connections = createServerConnections({
    pool: {
      keys: () => [...open],
      disconnectWhere: async (predicate) => {
        for (const key of [...open]) if (predicate(key)) open.delete(key);
      },
    },
    tools: { invalidate: async () => undefined },
    logger,
    lostAccess: async (_server, userId) => (options.lost ?? []).includes(userId),
    publish: async (change) => void published.push(change),
    reopen,
  });
  return { open, published, reopened, warn, settled, connections };
}

describe('ServerConnections after an edit (replaced)', () => {
  it('closes the old connections, reopens those of users who still see the server, not the others', async () => {
    const { open, published, reopened, connections } = setUp({ lost: ['bob'] });
    const session = sessionConnectionKey('relay|user|carol|mine', 'session-1', 'carol');
    for (const key of [
      'user|alice|mine',
      'relay|user|alice|mine',
      'user|bob|mine',
      session,
      'user|alice|other',
    ])
      open.add(key);

    await connections.replaceServer('mine', ['alice', 'bob']);
    await expect.poll(() => [...reopened].sort()).toEqual(['relay|alice', 'rest|alice']);
    // Bob lost it; carol's session connection reopens with her session; another server is untouched.
    expect([...open].sort()).toEqual(['relay|user|alice|mine', 'user|alice|mine', 'user|alice|other']);
    expect(published).toEqual([{ serverName: 'mine', change: 'replaced', origin: expect.any(String) }]);
  });

  it('ignores its own announcement (already applied) and applies another instance’s', async () => {
    const { open, published, reopened, connections, settled } = setUp();
    open.add('user|alice|mine');
    await connections.replaceServer('mine', []);
    await Promise.all(settled);
    expect(reopened).toEqual(['rest|alice']);

    // Heard back from the KV: closing again would drop the connection just reopened.
    await connections.apply(published[0]!);
    expect(open.has('user|alice|mine')).toBe(true);
    expect(reopened).toEqual(['rest|alice']);

    await connections.apply({ serverName: 'mine', change: 'replaced', origin: 'another-instance' });
    await Promise.all(settled);
    expect(reopened).toEqual(['rest|alice', 'rest|alice']);
    expect(open.has('user|alice|mine')).toBe(true);
  });

  it('a deletion (closed) reopens nothing', async () => {
    const { open, published, reopened, connections } = setUp();
    open.add('user|alice|mine');
    await connections.closeServer('mine', ['alice']);
    await connections.apply({ serverName: 'mine', change: 'closed' });
    expect(open.size).toBe(0);
    expect(reopened).toEqual([]);
    expect(published).toEqual([{ serverName: 'mine', change: 'closed' }]);
  });

  it('failures to reopen are one warn line, never a rejection', async () => {
    const { open, warn, settled, connections } = setUp({ failing: true });
    for (const user of ['alice', 'bob', 'carol']) open.add(`user|${user}|mine`);
    await connections.replaceServer('mine', []);
    await expect.poll(() => settled.length).toBe(3);
    await Promise.all(settled);
    await expect.poll(() => warn.mock.calls.length).toBeGreaterThan(0);
    await new Promise((resolve) => setImmediate(resolve)); // anything queued behind it has run
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatchObject({ server: 'mine', failed: 3, of: 3 });
  });
});
