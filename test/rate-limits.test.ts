import { Redis } from 'ioredis';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateRedis } from './peers/private-redis.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { freePort } from './support/mcp-helpers.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The OAuth callback shared by users' servers: unauthenticated, so it is limited per client address. */
async function callback(hub: TestHub, remoteAddress = '127.0.0.1'): Promise<LightMyRequestResponse> {
  return hub.app.inject({
    method: 'GET',
    url: '/api/mcp/oauth/callback?code=some-code&state=some-state',
    remoteAddress,
  });
}

/** The 429 every limited JSON route answers: the stable code, the limit, and when to retry. */
function expectLimited(res: LightMyRequestResponse, limit: number, key: 'error' | 'message'): void {
  expect(res.statusCode).toBe(429);
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(res.json()).toEqual({
    code: 'HUB_ERR_RATE_LIMITED',
    [key]: `Too many requests: at most ${limit} a minute here; retry in ${retryAfter} s`,
    limit,
    retryAfter,
  });
}

/** Issue 14, deliverable 3: limits per user and per address on the routes worth abusing, shared through Redis. */
describe('rate limits', () => {
  describe('per user and per address, counted in memory', () => {
    let probe: ProbeServer;
    let hub: TestHub;
    let alice: string;
    let bob: string;

    beforeAll(async () => {
      probe = await startProbeServer();
      hub = await startTestHub({
        yaml: `
mcpSettings:
  rateLimits: { toolCalls: 3, reinitialize: 2, serverCreation: 2, oauthCallback: 2 }
mcpServers:
  probe:
    type: streamable-http
    url: ${probe.url}
    startup: false
`,
      });
      [alice, bob] = await Promise.all([
        hub.userToken('alice@example.com'),
        hub.userToken('bob@example.com'),
      ]);
    });

    afterAll(async () => {
      await hub?.dispose();
      await probe?.stop();
    });

    const call = (token: string) =>
      hub.app.inject({
        method: 'POST',
        url: '/api/mcp/probe/tools/echo/call',
        headers: bearer(token),
        payload: { arguments: { message: 'hi' } },
      });

    it('tool calls: one user past the limit gets 429 with Retry-After; another user from the same address goes on', async () => {
      // Refused before authentication: these count for nobody.
      const anonymous = await hub.app.inject({ method: 'POST', url: '/api/mcp/probe/tools/echo/call' });
      expect(anonymous.statusCode).toBe(401);
      for (let i = 0; i < 3; i++) {
        const res = await call(alice);
        expect(res.statusCode).toBe(200);
        expect(res.json()).toMatchObject({ content: [{ type: 'text', text: 'Echo: hi' }] });
      }
      expectLimited(await call(alice), 3, 'error');
      expect((await call(bob)).statusCode).toBe(200);
    });

    it('reinitialize and server creation are limited per user', async () => {
      const reinitialize = (token: string) =>
        hub.app.inject({ method: 'POST', url: '/api/mcp/probe/reinitialize', headers: bearer(token) });
      expect((await reinitialize(alice)).statusCode).toBe(200);
      expect((await reinitialize(alice)).statusCode).toBe(200);
      expectLimited(await reinitialize(alice), 2, 'error');
      expect((await reinitialize(bob)).statusCode).toBe(200);

      const create = (token: string, title: string) =>
        hub.app.inject({
          method: 'POST',
          url: '/api/mcp/servers',
          headers: bearer(token),
          payload: { config: { title, type: 'streamable-http', url: probe.url } },
        });
      // Whatever the hub decides about the servers themselves, the third attempt in the minute is refused.
      expect((await create(alice, 'One')).statusCode).not.toBe(429);
      expect((await create(alice, 'Two')).statusCode).not.toBe(429);
      expectLimited(await create(alice, 'Three'), 2, 'message');
      expect((await create(bob, 'Four')).statusCode).not.toBe(429);
    });

    it('the OAuth callback is limited per client address', async () => {
      expect((await callback(hub)).statusCode).toBe(302);
      expect((await callback(hub)).statusCode).toBe(302);
      expectLimited(await callback(hub), 2, 'message');
      expect((await callback(hub, '127.0.0.2')).statusCode).toBe(302);
    });
  });

  it('behind a trusted proxy (TRUST_PROXY), the address counted is the one the proxy names', async () => {
    const hub = await startTestHub({
      env: { TRUST_PROXY: 'true' },
      yaml: 'mcpSettings:\n  rateLimits: { oauthCallback: 1 }\n',
    });
    try {
      const via = (client: string) =>
        hub.app.inject({
          method: 'GET',
          url: '/api/mcp/oauth/callback?code=some-code&state=some-state',
          headers: { 'x-forwarded-for': client },
        });
      expect((await via('192.0.2.1')).statusCode).toBe(302);
      expectLimited(await via('192.0.2.1'), 1, 'message');
      expect((await via('192.0.2.2')).statusCode).toBe(302);
    } finally {
      await hub.dispose();
    }
  });

  describe('shared by two instances through Redis', () => {
    let redis: PrivateRedis;
    let one: TestHub;
    let two: TestHub;
    const yaml = 'mcpSettings:\n  rateLimits: { oauthCallback: 3 }\n';

    beforeAll(async () => {
      redis = new PrivateRedis(await freePort());
      await redis.start();
      [one, two] = await Promise.all([
        startTestHub({ env: { REDIS_URL: redis.url }, yaml }),
        startTestHub({ env: { REDIS_URL: redis.url }, yaml }),
      ]);
    });

    afterAll(async () => {
      await Promise.all([one?.dispose(), two?.dispose()]);
      await redis?.stop();
    });

    it('counts made on one instance limit the other, and every counter key expires', async () => {
      expect((await callback(one)).statusCode).toBe(302);
      expect((await callback(one)).statusCode).toBe(302);
      expect((await callback(two)).statusCode).toBe(302);
      expectLimited(await callback(two), 3, 'message');
      expectLimited(await callback(one), 3, 'message');

      const inspect = new Redis(redis.url);
      try {
        const keys = await inspect.keys('sb:rl:*');
        expect(keys).toEqual(['sb:rl:GET/api/mcp/oauth/callback:ip:127.0.0.1']);
        expect(await inspect.get(keys[0]!)).toBe('5');
        const ttl = await inspect.pttl(keys[0]!);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(60_000);
      } finally {
        inspect.disconnect();
      }
    });

    it('with Redis gone, each instance counts in memory: no failure, and the limit still holds', async () => {
      await redis.stop();
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) codes.push((await callback(one, '127.0.0.3')).statusCode);
      expect(codes).toEqual([302, 302, 302, 429]);
      expect(one.logLines.some((line) => line.includes('rate limits: Redis cannot count'))).toBe(true);
    });

    it('once Redis is back, counts are shared again', async () => {
      await redis.start();
      const inspect = new Redis(redis.url);
      try {
        // The counter connection reconnects on its own; until then counts stay in memory.
        await expect
          .poll(async () => {
            await callback(one, '127.0.0.4');
            return inspect.get('sb:rl:GET/api/mcp/oauth/callback:ip:127.0.0.4');
          })
          .not.toBeNull();
        const counted = Number(await inspect.get('sb:rl:GET/api/mcp/oauth/callback:ip:127.0.0.4'));
        for (let i = counted; i < 3; i++) expect((await callback(two, '127.0.0.4')).statusCode).toBe(302);
        expectLimited(await callback(two, '127.0.0.4'), 3, 'message');
      } finally {
        inspect.disconnect();
      }
    });
  });
});
