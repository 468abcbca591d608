import { describe, expect, it } from 'vitest';
import { createMemoryKv, createRedisKv } from '../kv/index.js';
import { createToolCache, type CachedTool, type ToolListServer, type ToolSource } from './tool-cache.js';

/** A server as the registry gives it (only what the cache reads). */
const server = (url: string, ownerId?: string): ToolListServer => ({
  source: ownerId === undefined ? 'yaml' : 'db',
  ...(ownerId === undefined ? {} : { ownerId }),
  name: 'probe',
  config: { type: 'streamable-http', url },
});
const PROBE = server('http://127.0.0.1:1/mcp');

/** A live connection as the cache sees it: its tools, and how many times it was asked for them. */
function liveConnection(tools: CachedTool[]): ToolSource & { listed: number } {
  return {
    listed: 0,
    listTools() {
      this.listed += 1;
      return Promise.resolve(tools);
    },
  };
}

const ECHO: CachedTool = { name: 'echo', description: 'Echoes', inputSchema: { type: 'object' } };

describe('tool cache: the KV copy is a cache, never the truth', () => {
  it('a missing shared copy is unknown (null), and the live connection rebuilds it', async () => {
    const kv = createMemoryKv({ clock: { now: () => 0 } });
    const cache = createToolCache(kv);
    const connection = liveConnection([ECHO]);
    await cache.refresh('app|probe', connection, PROBE);
    expect(await cache.get('app|probe', PROBE)).toEqual([ECHO]);

    await kv.delete('tools:app|probe'); // the KV lost it: a restart, a flush or the TTL
    expect(await cache.get('app|probe', PROBE)).toBeNull();
    expect(await cache.fromConnection('app|probe', connection, PROBE)).toEqual([ECHO]);
    // The connection's list was kept: no second tools/list upstream.
    expect(connection.listed).toBe(1);
    await expect.poll(() => cache.get('app|probe', PROBE)).toEqual([ECHO]);
  });

  it('a refresh lists again and rewrites the shared copy', async () => {
    const kv = createMemoryKv({ clock: { now: () => 0 } });
    const cache = createToolCache(kv);
    const tools = [ECHO];
    const connection = liveConnection(tools);
    await cache.refresh('user|u1|probe', connection, PROBE);
    tools.push({ name: 'added' });
    await cache.refresh('user|u1|probe', connection, PROBE);
    expect((await cache.get('user|u1|probe', PROBE))?.map((t) => t.name)).toEqual(['echo', 'added']);
    expect(await cache.fromConnection('user|u1|probe', connection, PROBE)).toHaveLength(2);
  });

  it('a connection that cannot list its tools fails the refresh, and is asked again next time', async () => {
    const cache = createToolCache(createMemoryKv({ clock: { now: () => 0 } }));
    let fail = true;
    const connection: ToolSource = {
      listTools: () => (fail ? Promise.reject(new Error('upstream gone')) : Promise.resolve([ECHO])),
    };
    await expect(cache.refresh('app|probe', connection, PROBE)).rejects.toThrow('upstream gone');
    fail = false;
    expect(await cache.fromConnection('app|probe', connection, PROBE)).toEqual([ECHO]);
  });

  it('with Redis away, reads are unknown and writes never fail, within the bound, and it is said once', async () => {
    // Nothing listens on port 1: every Redis command waits in the client's queue.
    const kv = createRedisKv({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 60_000 });
    const warnings: string[] = [];
    const cache = createToolCache(kv, {
      kvTimeoutMs: 50,
      logger: { warn: (_fields: object, message: string) => warnings.push(message) },
    });
    try {
      const connection = liveConnection([ECHO]);
      expect(await cache.refresh('app|probe', connection, PROBE)).toEqual([ECHO]);
      await expect(cache.put('app|probe', [ECHO], PROBE)).resolves.toBeUndefined();
      expect(await cache.get('app|probe', PROBE)).toBeNull();
      expect(await cache.fromConnection('app|probe', connection, PROBE)).toEqual([ECHO]);
      expect(await cache.get('app|probe', PROBE)).toBeNull();
      // An outage fails every read: it is reported once, not once per read.
      expect(
        warnings.filter((m) => m === 'could not read the shared tool list; using the live connection'),
      ).toHaveLength(1);
      expect(warnings).toContain('could not write the shared tool list; the live connection still serves it');
    } finally {
      await kv.close();
    }
  });
});

describe('tool cache: an entry belongs to the server it was listed from', () => {
  it('a list of another server of the same name (recreated, re-pointed, other owner) is a miss, and is overwritten', async () => {
    const kv = createMemoryKv({ clock: { now: () => 0 } });
    const cache = createToolCache(kv);
    const old = server('http://127.0.0.1:1/mcp', 'alice');
    await cache.refresh('user|bob|probe', liveConnection([ECHO]), old);
    expect(await cache.get('user|bob|probe', old)).toEqual([ECHO]);

    for (const other of [
      server('http://127.0.0.1:2/mcp', 'alice'),
      server('http://127.0.0.1:1/mcp', 'carol'),
    ]) {
      expect(await cache.get('user|bob|probe', other)).toBeNull();
    }
    const moved = server('http://127.0.0.1:2/mcp', 'alice');
    await cache.fromConnection('user|bob|probe', liveConnection([{ name: 'other' }]), moved);
    await expect.poll(() => cache.get('user|bob|probe', moved)).toEqual([{ name: 'other' }]);
    expect(await cache.get('user|bob|probe', old)).toBeNull();
    // The KV holds a digest, not the owner or the address.
    expect(await kv.get('tools:user|bob|probe')).not.toMatch(/alice|127\.0\.0\.1/);
  });

  it('a bare list (written before entries named their server) is a miss', async () => {
    const kv = createMemoryKv({ clock: { now: () => 0 } });
    const cache = createToolCache(kv);
    await kv.set('tools:app|probe', JSON.stringify([ECHO]));
    expect(await cache.get('app|probe', PROBE)).toBeNull();
  });

  it('a list_changed refresh (no server given) stores the list for the server the connection was listed for', async () => {
    const kv = createMemoryKv({ clock: { now: () => 0 } });
    const cache = createToolCache(kv);
    const tools = [ECHO];
    const connection = liveConnection(tools);
    await cache.refresh('app|probe', connection, PROBE);
    tools.push({ name: 'added' });
    await cache.refresh('app|probe', connection);
    expect((await cache.get('app|probe', PROBE))?.map((t) => t.name)).toEqual(['echo', 'added']);

    // A connection never listed for a server leaves the KV alone.
    await cache.refresh('app|other', liveConnection([ECHO]));
    expect(await kv.get('tools:app|other')).toBeNull();
  });
});
