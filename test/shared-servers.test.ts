import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isKeyOfServer } from '../src/upstreams/index.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { apiClient, type ApiClient } from './support/servers-hub.js';
import { startTestHub, type TestHub } from './support/hub.js';

const postgresUrl = inject('postgresUrl');
const redisUrl = inject('redisUrl');

/** How soon a change made on one instance must take effect on the other. */
const WITHIN_MS = 1_000;

/**
 * Issue 17: two instances on one PostgreSQL and one Redis. A deletion, an unsharing, a role change
 * made through A closes the connections B holds within a second (through the KV), B refuses the
 * next call, and what A learned about a server's OAuth need reaches B but never a new server.
 */
describe.skipIf(!postgresUrl || !redisUrl)('every instance hears server changes', () => {
  const schema = `shared_${process.pid}_${Date.now()}`;
  let admin: pg.Client;
  let probe: ProbeServer;
  let locked: ProbeServer;
  let edited: ProbeServer;
  let a: TestHub;
  let b: TestHub;
  let apiA: ApiClient;
  let apiB: ApiClient;
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    [probe, locked, edited] = await Promise.all([startProbeServer(), startProbeServer(), startProbeServer()]);
    locked.setMode('reject-401');
    edited.addTool('only-after-the-edit');
    const url = new URL(postgresUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const env = {
      DATABASE_URL: url.toString(),
      REDIS_URL: redisUrl,
      JWT_SECRET: 'shared-servers-secret-0123456789abcdefghij',
      CREDENTIALS_KEY: '4d'.repeat(32),
    };
    const allowed = [probe, locked, edited].map((p) => `'127.0.0.1:${new URL(p.url).port}'`).join(', ');
    const yaml = `
mcpSettings:
  allowedDomains: [${allowed}]
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: true } }
mcpServers:
  admins-only:
    type: streamable-http
    url: ${probe.url}
    startup: false
    access: { roles: [ADMIN] }
  learns:
    type: streamable-http
    url: ${locked.url}
    startup: false
`;
    a = await startTestHub({ env, yaml });
    b = await startTestHub({ env, yaml });
    await Promise.all([a.servers.listening, b.servers.listening]);
    apiA = apiClient(a.app);
    apiB = apiClient(b.app);
    for (const name of ['alice', 'bob', 'carol']) {
      tokens[name] = await a.userToken(`${name}@example.com`);
      ids[name] = (await a.repos.users.findByEmail(`${name}@example.com`))!.id;
    }
  }, 60_000);

  afterAll(async () => {
    await a?.dispose();
    await b?.dispose();
    await Promise.all([probe?.stop(), locked?.stop(), edited?.stop()]);
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  const create = async (title: string): Promise<string> => {
    const res = await apiA.post('/api/mcp/servers', tokens.alice!, {
      config: { type: 'streamable-http', url: probe.url, title },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ serverName: string }>().serverName;
  };
  const call = (api: ApiClient, server: string, user: string) =>
    api.post(`/api/mcp/${server}/tools/echo/call`, tokens[user]!, { arguments: { message: 'hi' } });
  const openOn = (hub: TestHub, server: string): string[] =>
    hub.pool.keys().filter((key) => isKeyOfServer(key, server) && hub.pool.state(key) !== 'disconnected');
  /** The tool names of one server in the user's REST listing, which opens no connection. */
  const restTools = async (api: ApiClient, user: string, server: string): Promise<string[]> => {
    const res = await api.get('/api/mcp/tools', tokens[user]!);
    const servers = res.json<{ servers: Record<string, { tools: { name: string }[] }> }>().servers;
    return (servers[server]?.tools ?? []).map((t) => t.name);
  };
  /** Polls until `condition` holds, failing after {@link WITHIN_MS}. */
  const within = async (condition: () => boolean | Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + WITHIN_MS;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`not within ${WITHIN_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  it('a server deleted through A: B closes its connections and the cached tools of every user go', async () => {
    const name = await create('Deleted Everywhere');
    // Shared with everyone: bob reaches it through the public entry, so no ACL row names him.
    const shared = await apiA.put(`/api/mcp/servers/${name}/permissions`, tokens.alice!, {
      principals: [],
      public: 'viewer',
    });
    expect(shared.statusCode, shared.body).toBe(200);
    expect((await call(apiB, name, 'bob')).statusCode).toBe(200);
    const bobKey = `user|${ids.bob}|${name}`;
    expect(openOn(b, name)).toContain(bobKey);
    expect(await b.kv.get(`tools:${bobKey}`)).not.toBeNull();

    expect((await apiA.del(`/api/mcp/servers/${name}`, tokens.alice!)).statusCode).toBe(200);
    await within(async () => openOn(b, name).length === 0 && (await b.kv.get(`tools:${bobKey}`)) === null);
    expect((await call(apiB, name, 'bob')).statusCode).toBe(404);
  });

  it('a share revoked through A: B closes that user’s connections only, and refuses their next call', async () => {
    const name = await create('Revoked Everywhere');
    const share = (principals: unknown[]) =>
      apiA.put(`/api/mcp/servers/${name}/permissions`, tokens.alice!, { principals });
    const viewer = (user: string) => ({ type: 'user', id: ids[user], role: 'viewer' });
    expect((await share([viewer('bob'), viewer('carol')])).statusCode).toBe(200);
    expect((await call(apiB, name, 'bob')).statusCode).toBe(200);
    expect((await call(apiB, name, 'carol')).statusCode).toBe(200);
    const bobKey = `user|${ids.bob}|${name}`;
    const carolKey = `user|${ids.carol}|${name}`;
    expect(openOn(b, name)).toEqual(expect.arrayContaining([bobKey, carolKey]));

    expect((await share([viewer('carol')])).statusCode).toBe(200);
    await within(() => !openOn(b, name).includes(bobKey));
    expect(openOn(b, name)).toContain(carolKey);
    expect((await call(apiB, name, 'bob')).statusCode).toBe(404);
    expect((await call(apiB, name, 'carol')).statusCode).toBe(200);
  });

  it('an edit through A: B reopens with the new config the connections of users who still see the server, no one else’s', async () => {
    const name = await create('Edited Everywhere');
    const viewer = (user: string) => ({ type: 'user', id: ids[user], role: 'viewer' });
    const shared = await apiA.put(`/api/mcp/servers/${name}/permissions`, tokens.alice!, {
      principals: [viewer('bob'), viewer('carol')],
    });
    expect(shared.statusCode, shared.body).toBe(200);
    expect((await call(apiB, name, 'bob')).statusCode).toBe(200);
    expect((await call(apiB, name, 'carol')).statusCode).toBe(200);
    const bobKey = `user|${ids.bob}|${name}`;
    const carolKey = `user|${ids.carol}|${name}`;
    expect(openOn(b, name)).toEqual(expect.arrayContaining([bobKey, carolKey]));
    expect(await restTools(apiB, 'bob', name)).not.toContain('only-after-the-edit');
    // Carol loses the server in the database only, as if B had not heard that change yet: the
    // edit's reopening must ask the database, not trust what B holds.
    const record = (await a.repos.servers.findByName(name))!;
    expect(await a.repos.acl.revoke(record.id, { type: 'user', id: ids.carol! })).toBe(true);

    const edit = await apiA.patch(`/api/mcp/servers/${name}`, tokens.alice!, {
      config: { type: 'streamable-http', url: edited.url, title: 'Edited Everywhere' },
    });
    expect(edit.statusCode, edit.body).toBe(200);
    // No call first: B reopened bob's connection in the background, and it listed the new tools.
    await expect
      .poll(() => restTools(apiB, 'bob', name), { timeout: 5_000 })
      .toContain('only-after-the-edit');
    expect(openOn(b, name)).toContain(bobKey);
    expect(openOn(b, name)).not.toContain(carolKey);
    expect(await b.kv.get(`tools:${carolKey}`)).toBeNull();
    expect((await call(apiB, name, 'carol')).statusCode).toBe(404);
  });

  it('a role change made through A: B closes the connections the role no longer reaches, keeps the others, and refuses', async () => {
    const dave = await a.repos.users.create({ email: 'dave@example.com', role: 'ADMIN' });
    tokens.dave = await a.identity.issueToken(dave);
    const own = await apiA.post('/api/mcp/servers', tokens.dave, {
      config: { type: 'streamable-http', url: probe.url, title: 'Dave Keeps' },
    });
    expect(own.statusCode, own.body).toBe(201);
    const kept = own.json<{ serverName: string }>().serverName;
    expect((await call(apiB, 'admins-only', 'dave')).statusCode).toBe(200);
    expect((await call(apiB, kept, 'dave')).statusCode).toBe(200);
    expect(openOn(b, 'admins-only')).toContain(`user|${dave.id}|admins-only`);
    expect(openOn(b, kept)).toContain(`user|${dave.id}|${kept}`);

    await a.accounts.update(null, dave.id, { role: 'USER' });
    await within(() => openOn(b, 'admins-only').length === 0);
    // Their own server is still theirs as a USER: that connection stays open.
    expect(openOn(b, kept)).toContain(`user|${dave.id}|${kept}`);
    expect((await call(apiB, 'admins-only', 'dave')).statusCode).toBe(404);
    expect((await call(apiB, kept, 'dave')).statusCode).toBe(200);
  });

  it('a server found to need OAuth through A is known as such on B, by identity, never by name alone', async () => {
    const status = async (api: ApiClient, user: string, server: string) =>
      (await api.get(`/api/mcp/connection/status/${server}`, tokens[user]!)).json<{
        requiresOAuth: boolean;
      }>().requiresOAuth;
    expect(await status(apiB, 'bob', 'learns')).toBe(false);
    // The YAML server answers 401 to A: A learns it needs OAuth, and B hears it.
    expect((await call(apiA, 'learns', 'bob')).statusCode).not.toBe(200);
    expect(await status(apiA, 'bob', 'learns')).toBe(true);
    await within(async () => (await status(apiB, 'bob', 'learns')) === true);

    // A user's server that starts answering 401 after it was added: learned through B, heard on A.
    locked.setMode('normal');
    const res = await apiA.post('/api/mcp/servers', tokens.alice!, {
      config: { type: 'streamable-http', url: locked.url, title: 'Learned Once' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const name = res.json<{ serverName: string }>().serverName;
    expect(await status(apiA, 'alice', name)).toBe(false);
    locked.setMode('reject-401');
    expect((await call(apiB, name, 'alice')).statusCode).not.toBe(200);
    expect(await status(apiB, 'alice', name)).toBe(true);
    await within(async () => (await status(apiA, 'alice', name)) === true);
    // Deleted through A and added again under the same name: a new server, which learned nothing.
    expect((await apiA.del(`/api/mcp/servers/${name}`, tokens.alice!)).statusCode).toBe(200);
    locked.setMode('normal');
    const again = await apiA.post('/api/mcp/servers', tokens.alice!, {
      config: { type: 'streamable-http', url: locked.url, title: 'Learned Once' },
    });
    expect(again.json<{ serverName: string }>().serverName).toBe(name);
    expect(await status(apiA, 'alice', name)).toBe(false);
    expect(await status(apiB, 'alice', name)).toBe(false);
    expect((await call(apiA, name, 'alice')).statusCode).toBe(200);
  });
});
