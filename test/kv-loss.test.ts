import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PrivateRedis } from './peers/private-redis.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { freePort, textOf } from './support/mcp-helpers.js';

/**
 * Issue 14, finding 1: the tool lists in the KV are a cache. When Redis loses them (a restart, a
 * flush, a lapsed TTL) or is away, live connections keep their tools on every path.
 */
describe('KV loss never hides tools', () => {
  let redis: PrivateRedis;
  let inspect: Redis;
  let probe: ProbeServer;
  let hub: TestHub;
  let base: string;
  let alice: string;
  let aliceId: string;
  const clients: Client[] = [];

  const listing = async (token: string): Promise<Record<string, string[]>> => {
    const res = await hub.app.inject({
      method: 'GET',
      url: '/api/mcp/tools',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    const servers = res.json<{ servers: Record<string, { tools: { name: string }[] }> }>().servers;
    return Object.fromEntries(Object.entries(servers).map(([name, s]) => [name, s.tools.map((t) => t.name)]));
  };
  const restCall = (token: string, server: string, tool: string, args: Record<string, unknown>) =>
    hub.app.inject({
      method: 'POST',
      url: `/api/mcp/${server}/tools/${tool}/call`,
      headers: { authorization: `Bearer ${token}` },
      payload: { arguments: args },
    });
  const mcpClient = async (token: string): Promise<Client> => {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'kv-loss-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    return client;
  };
  const kvReady = async (): Promise<string> =>
    (await hub.app.inject({ method: 'GET', url: '/readyz' })).json<{ checks: { kv: string } }>().checks.kv;
  /** Restarts Redis empty, and waits until the hub's KV answers again. */
  const restartRedis = async (): Promise<void> => {
    await redis.stop();
    await redis.start();
    await expect.poll(kvReady, { timeout: 20_000 }).toBe('ok');
  };

  beforeAll(async () => {
    redis = new PrivateRedis(await freePort());
    await redis.start();
    inspect = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: null });
    inspect.on('error', () => undefined); // it loses Redis on purpose
    probe = await startProbeServer();
    hub = await startTestHub({
      env: { REDIS_URL: redis.url },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  shared:
    type: streamable-http
    url: ${probe.url}
  mine:
    type: streamable-http
    url: ${probe.url}
    startup: false
    initTimeout: 15000
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    alice = await hub.userToken('alice@example.com');
    aliceId = (await hub.repos.users.findByEmail('alice@example.com'))!.id;
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.dispose();
    await probe?.stop();
    inspect?.disconnect();
    await redis?.stop();
  });

  it('after Redis restarts empty, the REST listing, /mcp tools/list and calls keep every tool', async () => {
    // Alice's own connection to `mine` opens with a call; `shared` connected at start-up.
    expect((await restCall(alice, 'mine', 'echo', { message: 'before' })).statusCode).toBe(200);
    const session = await mcpClient(alice);
    const before = (await session.listTools()).tools.map((t) => t.name);
    expect(before).toEqual(expect.arrayContaining(['shared__echo', 'mine__echo']));
    const listedBefore = await listing(alice);
    expect(listedBefore.shared).toContain('echo');
    expect(listedBefore.mine).toContain('echo');

    await restartRedis();
    await inspect.connect();
    expect(await inspect.keys('sb:tools:*')).toEqual([]);

    const listedAfter = await listing(alice);
    expect(listedAfter.shared).toEqual(listedBefore.shared);
    expect(listedAfter.mine).toEqual(listedBefore.mine);
    // The session opened before the restart and a new one both see the same tools, and can call them.
    expect((await session.listTools()).tools.map((t) => t.name).sort()).toEqual([...before].sort());
    const call = await session.callTool({ name: 'shared__echo', arguments: { message: 'after' } });
    expect(textOf(call)).toBe('Echo: after');
    const fresh = await mcpClient(alice);
    expect((await fresh.listTools()).tools.map((t) => t.name).sort()).toEqual([...before].sort());
    // The shared copies were written back from the live connections.
    await expect.poll(() => inspect.exists('sb:tools:app|shared')).toBe(1);
    await expect.poll(() => inspect.exists(`sb:tools:user|${aliceId}|mine`)).toBe(1);
  });

  it('a lapsed entry (its TTL ran out) is rebuilt from the live connection', async () => {
    await inspect.del('sb:tools:app|shared', 'sb:tools:relay|app|shared');
    expect((await listing(alice)).shared).toContain('echo');
    const client = await mcpClient(alice);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('shared__echo');
    await expect.poll(() => inspect.exists('sb:tools:app|shared')).toBe(1);
  });

  it("a user's reinitialize rewrites the shared list, even of a connection it may not close", async () => {
    await inspect.del('sb:tools:app|shared');
    const res = await hub.app.inject({
      method: 'POST',
      url: '/api/mcp/shared/reinitialize',
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(res.statusCode).toBe(200);
    const stored = JSON.parse((await inspect.get('sb:tools:app|shared')) ?? '{}') as {
      tools?: { name: string }[];
    };
    expect((stored.tools ?? []).map((t) => t.name)).toContain('echo');
  });

  it('with Redis down, a new per-user connection connects and lists its tools from the live connection', async () => {
    const bob = await hub.userToken('bob@example.com');
    inspect.disconnect();
    await redis.stop();
    try {
      const call = await restCall(bob, 'mine', 'echo', { message: 'during the outage' });
      expect(call.statusCode).toBe(200);
      expect(textOf(call.json())).toBe('Echo: during the outage');
      const listed = await listing(bob);
      expect(listed.mine).toContain('echo');
      expect(listed.shared).toContain('echo');
      const client = await mcpClient(bob);
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(
        expect.arrayContaining(['shared__echo', 'mine__echo']),
      );
    } finally {
      await redis.start();
    }
    await expect.poll(kvReady, { timeout: 20_000 }).toBe('ok');
  });
});

/**
 * Rebuilding a lost list from a live connection must not undo an invalidation: after Redis
 * restarts, an edit made on one instance still reaches the other's sessions (the KV's pub/sub), and
 * the other instance lists the edited server's new tools, not its old connection's.
 */
describe.skipIf(!inject('postgresUrl'))('KV loss: two instances still hear catalog changes', () => {
  const postgresUrl = inject('postgresUrl');
  const schema = `kv_loss_${process.pid}_${Date.now()}`;
  const env = { JWT_SECRET: 'kv-loss-shared-jwt-secret-00000000000000', CREDENTIALS_KEY: '4b'.repeat(32) };
  let admin: pg.Client;
  let redis: PrivateRedis;
  let inspect: Redis;
  let first: TestHub;
  let second: TestHub;
  let before: ProbeServer;
  let after: ProbeServer;
  let client: Client | undefined;

  const kvReady = async (hub: TestHub): Promise<string> =>
    (await hub.app.inject({ method: 'GET', url: '/readyz' })).json<{ checks: { kv: string } }>().checks.kv;
  const restListing = async (hub: TestHub, token: string): Promise<string[]> => {
    const res = await hub.app.inject({
      method: 'GET',
      url: '/api/mcp/tools',
      headers: { authorization: `Bearer ${token}` },
    });
    const servers = res.json<{ servers: Record<string, { tools: { name: string }[] }> }>().servers;
    return (servers.mine?.tools ?? []).map((t) => t.name);
  };
  const send = (hub: TestHub, method: 'POST' | 'PATCH', url: string, token: string, body: unknown) =>
    hub.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = new URL(postgresUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    redis = new PrivateRedis(await freePort());
    await redis.start();
    inspect = new Redis(redis.url, { maxRetriesPerRequest: null });
    inspect.on('error', () => undefined); // it loses Redis on purpose
    [before, after] = await Promise.all([startProbeServer(), startProbeServer()]);
    after.addTool('only-after-the-edit');
    const yaml = `
mcpSettings:
  allowedDomains: ['127.0.0.1']
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: false } }
`;
    const hubEnv = { ...env, DATABASE_URL: url.toString(), REDIS_URL: redis.url };
    first = await startTestHub({ env: hubEnv, yaml });
    second = await startTestHub({ env: hubEnv, yaml });
    await second.app.listen({ port: 0, host: '127.0.0.1' });
  }, 60_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await first?.dispose();
    await second?.dispose();
    await Promise.all([before?.stop(), after?.stop()]);
    inspect?.disconnect();
    await redis?.stop();
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
  });

  it('an edit on one instance after the restart reaches the other, with the new tools', async () => {
    const alice = await first.userToken('alice@example.com');
    const config = { type: 'streamable-http', title: 'Mine', url: before.url };
    expect((await send(first, 'POST', '/api/mcp/servers', alice, { config })).statusCode).toBe(201);
    // Alice's connections on the second instance: a REST call, and an /mcp session.
    expect((await send(second, 'POST', '/api/mcp/mine/tools/echo/call', alice, {})).statusCode).toBe(200);
    const port = (second.app.server.address() as AddressInfo).port;
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${alice}` } },
    });
    client = new Client({ name: 'kv-loss-two-instances', version: '1.0.0' });
    await client.connect(transport);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('mine__echo');

    await redis.stop();
    await redis.start();
    for (const hub of [first, second]) await expect.poll(() => kvReady(hub), { timeout: 20_000 }).toBe('ok');
    // Both instances subscribed to the catalog channel again.
    const listeners = async () =>
      ((await inspect.pubsub('NUMSUB', 'sb:servers:catalog-changed')) as [string, number])[1];
    await expect.poll(listeners, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);

    expect((await client.listTools()).tools.map((t) => t.name)).toContain('mine__echo');
    expect(await restListing(second, alice)).toContain('echo');

    const changed = new Promise<void>((resolve) =>
      client!.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()),
    );
    const edit = await send(first, 'PATCH', '/api/mcp/servers/mine', alice, {
      config: { ...config, url: after.url },
    });
    expect(edit.statusCode).toBe(200);
    await changed;
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('mine__only-after-the-edit');
    // An edit closes the old-config connections on every instance and reopens them in the
    // background with the new config: the REST listing, which opens none, shows the new tools
    // with no call first.
    await expect.poll(() => restListing(second, alice), { timeout: 5_000 }).toContain('only-after-the-edit');
  });
});
