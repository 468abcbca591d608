import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { CATALOG_CHANNEL } from '../src/servers/index.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';

const redisUrl = inject('redisUrl');

/**
 * Issue 17: Redis pub/sub ignores the database index, so deployments sharing one Redis used to
 * hear each other's `sb:` channels and count in each other's rate-limit keys. With
 * `REDIS_NAMESPACE` two deployments (each its own SQLite) stay apart on one Redis, while two
 * instances of one deployment (same namespace) still hear each other.
 */
describe.skipIf(!redisUrl)('two deployments on one Redis, apart by REDIS_NAMESPACE', () => {
  const run = randomUUID().slice(0, 8);
  const namespaceA = `deploy-a-${run}`;
  const namespaceB = `deploy-b-${run}`;
  let probe: ProbeServer;
  let a: TestHub;
  let aTwin: TestHub;
  let b: TestHub;

  beforeAll(async () => {
    probe = await startProbeServer();
    const yaml = `
mcpSettings:
  allowedDomains: ['127.0.0.1:${new URL(probe.url).port}']
  rateLimits: { oauthCallback: 2 }
`;
    const env = (namespace: string) => ({ REDIS_URL: redisUrl, REDIS_NAMESPACE: namespace });
    [a, aTwin, b] = await Promise.all([
      startTestHub({ env: env(namespaceA), yaml }),
      startTestHub({ env: env(namespaceA), yaml }),
      startTestHub({ env: env(namespaceB), yaml }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.dispose(), aTwin?.dispose(), b?.dispose()]);
    await probe?.stop();
    const admin = new Redis(redisUrl);
    try {
      for (const namespace of [namespaceA, namespaceB]) {
        const keys = await admin.keys(`${namespace}:*`);
        if (keys.length > 0) await admin.del(...keys);
      }
    } finally {
      admin.disconnect();
    }
  });

  it("a catalog change on one deployment reaches its own other instance, not the other deployment's", async () => {
    const heardByTwin: string[] = [];
    const heardByB: string[] = [];
    const unsubscribe = await Promise.all([
      aTwin.kv.subscribe(CATALOG_CHANNEL, (m) => void heardByTwin.push(m)),
      b.kv.subscribe(CATALOG_CHANNEL, (m) => void heardByB.push(m)),
    ]);
    try {
      const admin = await a.userToken('root@example.com', 'ADMIN');
      const created = await a.app.inject({
        method: 'POST',
        url: '/api/mcp/servers',
        headers: { authorization: `Bearer ${admin}` },
        payload: { config: { type: 'http', url: probe.url, title: 'Namespaced' } },
      });
      expect(created.statusCode, created.body).toBe(201);
      await vi.waitFor(() => expect(heardByTwin.join()).toContain('namespaced'));

      // A's announcement was delivered before its twin heard it, so a marker B publishes now
      // reaches B's subscriber after A's would have, on the same connection: once the marker is
      // in, B has heard all it ever will of A's change.
      await b.kv.publish(CATALOG_CHANNEL, 'marker');
      await vi.waitFor(() => expect(heardByB).toContain('marker'));
      expect(heardByB).toEqual(['marker']);
    } finally {
      await Promise.all(unsubscribe.map((stop) => stop()));
    }
  });

  it("rate-limit counts of one deployment do not spend the other's, and sit under its namespace", async () => {
    const callback = (hub: TestHub) =>
      hub.app.inject({ method: 'GET', url: '/api/mcp/oauth/callback?code=c&state=s' });
    // Same client address on every hub: one counter per deployment.
    expect((await callback(a)).statusCode).toBe(302);
    expect((await callback(aTwin)).statusCode).toBe(302);
    expect((await callback(a)).statusCode).toBe(429);
    expect((await callback(b)).statusCode).toBe(302);
    expect((await callback(b)).statusCode).toBe(302);
    expect((await callback(b)).statusCode).toBe(429);

    const inspect = new Redis(redisUrl);
    try {
      expect(await inspect.get(`${namespaceA}:rl:oauthCallback:ip:127.0.0.1`)).toBe('3');
      expect(await inspect.get(`${namespaceB}:rl:oauthCallback:ip:127.0.0.1`)).toBe('3');
    } finally {
      inspect.disconnect();
    }
  });

  it('keys of one deployment are invisible to the other', async () => {
    await a.kv.set('shared-name', 'from-a');
    expect(await aTwin.kv.get('shared-name')).toBe('from-a');
    expect(await b.kv.get('shared-name')).toBeNull();
    await b.kv.set('shared-name', 'from-b');
    expect(await a.kv.get('shared-name')).toBe('from-a');
  });
});
