import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Redis } from 'ioredis';
import type { LightMyRequestResponse } from 'fastify';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateRedis } from './peers/private-redis.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { freePort, textOf } from './support/mcp-helpers.js';

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

/** The hub's listening address, for MCP clients. */
async function listen(hub: TestHub): Promise<string> {
  await hub.app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
}

/** An SDK client with a session on one of the hub's MCP endpoints. */
async function mcpClient(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'rate-limit-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: bearer(token) } }),
  );
  return client;
}

/** A REST call of the probe's echo tool. */
const restEcho = (hub: TestHub, token: string) =>
  hub.app.inject({
    method: 'POST',
    url: '/api/mcp/probe/tools/echo/call',
    headers: bearer(token),
    payload: { arguments: { message: 'hi' } },
  });

/** What the SDK client rejects a call refused by the limit with: the HTTP status, and the body in its message. */
async function expectMcpLimited(call: Promise<unknown>, limit: number): Promise<void> {
  const error: unknown = await call.then(
    () => new Error('the call was not refused'),
    (refusal: unknown) => refusal,
  );
  expect(error).toMatchObject({ code: 429 });
  const message = (error as Error).message;
  expect(message).toContain(`Too many requests: at most ${limit} a minute here`);
  expect(message).toContain('"code":-32029');
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

  describe('tool calls over /mcp and /mcp/servers/<name>: the same budget as REST, counted in memory', () => {
    let probe: ProbeServer;
    let hub: TestHub;
    let base: string;
    const clients: Client[] = [];
    const connect = async (path: string, token: string) => {
      const client = await mcpClient(`${base}${path}`, token);
      clients.push(client);
      return client;
    };

    beforeAll(async () => {
      probe = await startProbeServer();
      hub = await startTestHub({
        yaml: `
mcpSettings:
  rateLimits: { toolCalls: 4 }
mcpServers:
  probe:
    type: streamable-http
    url: ${probe.url}
`,
      });
      base = await listen(hub);
    });

    afterAll(async () => {
      await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
      await hub?.dispose();
      await probe?.stop();
    });

    it('an SDK client on /mcp: past the limit a call fails with HTTP 429, the session goes on, REST is refused too, another user is not', async () => {
      const [carol, dave] = await Promise.all([
        hub.userToken('carol@example.com'),
        hub.userToken('dave@example.com'),
      ]);
      const client = await connect('/mcp', carol);
      const echo = (message: string) => client.callTool({ name: 'probe__echo', arguments: { message } });
      for (let i = 0; i < 4; i++) expect(textOf(await echo(`m${i}`))).toBe(`Echo: m${i}`);
      await expectMcpLimited(echo('one too many'), 4);
      // Other requests are not tool calls: not counted, not refused, and the session still works.
      expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('probe__echo');
      expectLimited(await restEcho(hub, carol), 4, 'error');

      const other = await connect('/mcp', dave);
      expect(textOf(await other.callTool({ name: 'probe__echo', arguments: { message: 'x' } }))).toBe(
        'Echo: x',
      );
    });

    it('the 429 carries Retry-After and answers every request of a batch; each call of a batch counts, and REST calls spend the same budget', async () => {
      const erin = await hub.userToken('erin@example.com');
      // Two REST calls, then the per-server endpoint: two of the four calls are left.
      for (let i = 0; i < 2; i++) expect((await restEcho(hub, erin)).statusCode).toBe(200);
      const client = await connect('/mcp/servers/probe', erin);
      const transport = client.transport as StreamableHTTPClientTransport;
      const batch = (ids: number[]) =>
        fetch(`${base}/mcp/servers/probe`, {
          method: 'POST',
          headers: {
            ...bearer(erin),
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-session-id': transport.sessionId!,
            'mcp-protocol-version': transport.protocolVersion!,
          },
          body: JSON.stringify([
            ...ids.map((id) => ({
              jsonrpc: '2.0',
              id,
              method: 'tools/call',
              params: { name: 'echo', arguments: { message: `b${id}` } },
            })),
            { jsonrpc: '2.0', id: 'ping-1', method: 'ping' },
          ]),
        });
      // Three calls with two left: the whole batch is refused, each request answered.
      const refused = await batch([1, 2, 3]);
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const answers = (await refused.json()) as Array<{
        id: unknown;
        error: { code: number; data: unknown };
      }>;
      expect(answers.map((answer) => answer.id)).toEqual([1, 2, 3, 'ping-1']);
      for (const answer of answers) {
        expect(answer.error).toMatchObject({ code: -32029, data: { limit: 4, retryAfter } });
      }
      // The refused batch counted: the budget is spent, on this endpoint and on REST.
      await expectMcpLimited(client.callTool({ name: 'echo', arguments: { message: 'late' } }), 4);
      expectLimited(await restEcho(hub, erin), 4, 'error');
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
    let probe: ProbeServer;
    let one: TestHub;
    let two: TestHub;

    beforeAll(async () => {
      redis = new PrivateRedis(await freePort());
      await redis.start();
      probe = await startProbeServer();
      const yaml = `
mcpSettings:
  rateLimits: { oauthCallback: 3, toolCalls: 3 }
mcpServers:
  probe:
    type: streamable-http
    url: ${probe.url}
    startup: false
`;
      [one, two] = await Promise.all([
        startTestHub({ env: { REDIS_URL: redis.url }, yaml }),
        startTestHub({ env: { REDIS_URL: redis.url }, yaml }),
      ]);
    });

    afterAll(async () => {
      await Promise.all([one?.dispose(), two?.dispose()]);
      await probe?.stop();
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
        expect(keys).toEqual(['sb:rl:oauthCallback:ip:127.0.0.1']);
        expect(await inspect.get(keys[0]!)).toBe('5');
        const ttl = await inspect.pttl(keys[0]!);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(60_000);
      } finally {
        inspect.disconnect();
      }
    });

    it('tool calls over REST and over /mcp go to one counter per user in Redis', async () => {
      const token = await one.userToken('frank@example.com');
      expect((await restEcho(one, token)).statusCode).toBe(200);
      expect((await restEcho(one, token)).statusCode).toBe(200);
      const client = await mcpClient(`${await listen(one)}/mcp`, token);
      try {
        const echo = () => client.callTool({ name: 'probe__echo', arguments: { message: 'hi' } });
        expect(textOf(await echo())).toBe('Echo: hi');
        await expectMcpLimited(echo(), 3);
      } finally {
        await client.close();
      }
      expectLimited(await restEcho(one, token), 3, 'error');

      const inspect = new Redis(redis.url);
      try {
        const userId = (await one.repos.users.findByEmail('frank@example.com'))!.id;
        expect(await inspect.keys('sb:rl:toolCalls:*')).toEqual([`sb:rl:toolCalls:user:${userId}`]);
        expect(await inspect.get(`sb:rl:toolCalls:user:${userId}`)).toBe('5');
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
        // Each instance's counter connection reconnects on its own; until then it counts in memory.
        // Wait until both count in Redis again, each on an address of its own.
        const countsInRedis = (hub: TestHub, ip: string) =>
          expect
            .poll(async () => {
              await callback(hub, ip);
              return inspect.get(`sb:rl:oauthCallback:ip:${ip}`);
            })
            .not.toBeNull();
        await countsInRedis(one, '127.0.0.4');
        await countsInRedis(two, '127.0.0.5');
        expect((await callback(one, '127.0.0.6')).statusCode).toBe(302);
        expect((await callback(two, '127.0.0.6')).statusCode).toBe(302);
        expect((await callback(one, '127.0.0.6')).statusCode).toBe(302);
        expectLimited(await callback(two, '127.0.0.6'), 3, 'message');
        expect(await inspect.get('sb:rl:oauthCallback:ip:127.0.0.6')).toBe('4');
      } finally {
        inspect.disconnect();
      }
    });
  });
});
