import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEverything, type RunningEverything } from './peers/everything.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import {
  apiClient,
  startListener,
  startServersHub,
  type ApiClient,
  type ApiResponse,
  type Listener,
  type ServersTestHub,
  responseText,
  validationErrors,
} from './support/servers-hub.js';

/** Issue 5 item 1: user-created servers through `/api/mcp/servers`, against real upstreams. */
describe('user-created servers: create, read, update, delete', () => {
  const JWT_SECRET = 'canary-jwt-secret-0f9e8d7c6b5a4f3e2d1c';
  const HEADER_SECRET = 'header-secret-5b7c9d1e3f';
  let hub: ServersTestHub;
  let api: ApiClient;
  let probe: ProbeServer;
  let keyed: ProbeServer;
  let everything: RunningEverything;
  let internal: ProbeServer;
  let canary: Listener;
  let oauthPeer: Listener;
  let alice: string;
  let bob: string;
  let admin: string;

  const create = (token: string, config: unknown): Promise<ApiResponse> =>
    api.post('/api/mcp/servers', token, { config });
  const call = (server: string, tool: string, token: string, args: Record<string, unknown> = {}) =>
    api.post(`/api/mcp/${server}/tools/${tool}/call`, token, { arguments: args });
  /** Everything SQLite holds, main file and write-ahead log, as text. */
  const databaseBytes = (): string =>
    ['switchboard.db', 'switchboard.db-wal']
      .map((file) => path.join(hub.dataDir, file))
      .filter((file) => existsSync(file))
      .map((file) => readFileSync(file).toString('latin1'))
      .join('');

  beforeAll(async () => {
    [probe, keyed, everything, internal, canary] = await Promise.all([
      startProbeServer(),
      startProbeServer({ requireHeader: { name: 'x-api-key' } }),
      startEverything('streamableHttp'),
      startProbeServer(),
      startListener(),
    ]);
    // An MCP server protected by OAuth: every request gets a 401 with a challenge (MCP authorization).
    oauthPeer = await startListener((_req, res) => {
      res.writeHead(401, {
        'www-authenticate':
          'Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource"',
        'content-type': 'application/json',
      });
      res.end('{"error":"unauthorized"}');
    });
    const allowed = [probe.url, keyed.url, everything.url, oauthPeer.url].map(
      (u) => `'127.0.0.1:${new URL(u).port}'`,
    );
    const closedPort = await startListener().then(async (l) => {
      await l.close();
      return l.port;
    });
    allowed.push(`'127.0.0.1:${closedPort}'`);
    process.env.SERVERS_TEST_CLOSED_PORT = String(closedPort);
    hub = await startServersHub({
      env: { JWT_SECRET },
      yaml: `
mcpSettings:
  allowedDomains: [${allowed.join(', ')}]
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: false } }
mcpServers:
  github:
    type: streamable-http
    url: ${everything.url}
    startup: false
    title: GitHub (admin)
  admins-only:
    type: streamable-http
    url: ${internal.url}
    startup: false
    headers: { X-Admin-Key: yaml-admin-secret }
    access: { roles: [ADMIN] }
`,
    });
    api = apiClient(hub.app);
    [alice, bob, admin] = await Promise.all([
      hub.userToken('alice@example.com'),
      hub.userToken('bob@example.com'),
      hub.userToken('root@example.com', 'ADMIN'),
    ]);
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await Promise.all([
      probe?.stop(),
      keyed?.stop(),
      everything?.stop(),
      canary?.close(),
      oauthPeer?.close(),
    ]);
  });

  describe('create and read', () => {
    it('creates a server from a URL: named from its title, inspected, secrets masked', async () => {
      const res = await create(alice, {
        type: 'http',
        url: probe.url,
        title: 'Probe One',
        description: 'a probe',
        headers: { 'X-Api-Key': HEADER_SECRET },
      });
      expect(res.statusCode).toBe(201);
      const record = await hub.repos.servers.findByName('probe-one');
      expect(res.json()).toEqual({
        serverName: 'probe-one',
        dbId: record!.id,
        source: 'user',
        type: 'streamable-http',
        title: 'Probe One',
        description: 'a probe',
        requiresOAuth: false,
        toolCount: 6,
        url: probe.url,
        headers: { 'X-Api-Key': '***' },
      });
      const read = await api.get('/api/mcp/servers/probe-one', alice);
      expect(read.statusCode).toBe(200);
      expect(read.json()).toEqual(res.json());
      expect(read.body).not.toContain(HEADER_SECRET);
    });

    it('the new server is usable at once: listed with its tools, callable with its secret', async () => {
      const whoami = await call('probe-one', 'whoami', alice);
      expect(whoami.statusCode).toBe(200);
      expect(JSON.parse(responseText(whoami))).toMatchObject({ 'x-api-key': HEADER_SECRET });
      const tools = await api.get('/api/mcp/tools', alice);
      const listed = tools.json<{ servers: Record<string, { tools: Array<{ name: string }> }> }>().servers;
      expect(listed['probe-one']!.tools.map((t) => t.name)).toEqual(
        expect.arrayContaining(['echo', 'whoami']),
      );
      expect(tools.body).not.toContain(HEADER_SECRET);
      const status = await api.get('/api/mcp/connection/status/probe-one', alice);
      expect(status.json()).toMatchObject({ connectionStatus: 'connected', requiresOAuth: false });
    });

    it('SE-07: secrets are encrypted at rest and never in the database in plain text', async () => {
      expect(databaseBytes()).not.toContain(HEADER_SECRET);
      const record = await hub.repos.servers.findByName('probe-one');
      expect(record!.secrets).toMatch(/^v1\./);
      expect(JSON.stringify(record!.config)).not.toContain(HEADER_SECRET);
    });

    it('SE-09: listings and tool results carry no header values', async () => {
      for (const res of [
        await api.get('/api/mcp/servers', alice),
        await api.get('/api/mcp/servers', admin),
        await api.get('/api/mcp/tools', alice),
        await call('probe-one', 'echo', alice, { message: 'hi' }),
      ]) {
        expect(res.statusCode).toBe(200);
        expect(res.body).not.toContain(HEADER_SECRET);
        expect(res.body).not.toContain('yaml-admin-secret');
      }
    });

    it('admins see the whole (masked) server; strangers get the same 404 as for a missing name', async () => {
      const asAdmin = await api.get('/api/mcp/servers/probe-one', admin);
      expect(asAdmin.json()).toMatchObject({ url: probe.url, headers: { 'X-Api-Key': '***' } });
      // Strangers do not see it at all (AZ-02), with the same 404 as a name that does not exist.
      const stranger = await api.get('/api/mcp/servers/probe-one', bob);
      const missing = await api.get('/api/mcp/servers/no-such-server', bob);
      expect(stranger.statusCode).toBe(404);
      expect(missing.statusCode).toBe(404);
      expect(stranger.json<{ code: string }>().code).toBe(missing.json<{ code: string }>().code);
    });

    it('YAML servers are listed: a summary for users, the masked entry for admins; access blocks hide', async () => {
      const asUser = (await api.get('/api/mcp/servers?limit=100', alice)).json<
        Record<string, Record<string, unknown>>
      >();
      expect(asUser.github).toEqual({
        serverName: 'github',
        source: 'yaml',
        type: 'streamable-http',
        title: 'GitHub (admin)',
        requiresOAuth: false,
      });
      expect(asUser['admins-only']).toBeUndefined();
      const asAdmin = (await api.get('/api/mcp/servers?limit=100', admin)).json<
        Record<string, Record<string, unknown>>
      >();
      expect(asAdmin['admins-only']).toMatchObject({
        source: 'yaml',
        url: internal.url,
        startup: false,
        headers: { 'X-Admin-Key': '***' },
        access: { roles: ['ADMIN'] },
      });
      expect((await api.get('/api/mcp/servers/admins-only', alice)).statusCode).toBe(404);
    });

    it('a YAML server cannot be changed or deleted through the API', async () => {
      expect(
        (await api.patch('/api/mcp/servers/github', admin, { config: { url: probe.url, title: 'x' } }))
          .statusCode,
      ).toBe(403);
      expect((await api.del('/api/mcp/servers/github', admin)).statusCode).toBe(403);
      expect((await api.del('/api/mcp/servers/admins-only', alice)).statusCode).toBe(404);
    });
  });

  describe('inspection', () => {
    it('SS-01: a destination the egress guard refuses is a 403 MCP_DOMAIN_NOT_ALLOWED, with zero requests sent', async () => {
      for (const url of [
        canary.url,
        `http://[::ffff:127.0.0.1]:${canary.port}/mcp`,
        `http://[::ffff:7f00:1]:${canary.port}/mcp`,
        `http://2130706433:${canary.port}/mcp`,
        'http://169.254.169.254/latest/meta-data/',
        'http://10.0.0.1/mcp',
      ]) {
        const res = await create(alice, { type: 'streamable-http', title: 'Canary', url });
        expect(res.statusCode, url).toBe(403);
        expect(res.json()).toEqual({
          error: 'MCP_DOMAIN_NOT_ALLOWED',
          message: expect.stringContaining('not allowed'),
          code: 'HUB_ERR_MCP_DOMAIN_NOT_ALLOWED',
        });
      }
      const viaOAuth = await create(alice, {
        type: 'streamable-http',
        title: 'Canary',
        url: probe.url,
        oauth: { token_url: `${canary.url.replace('/mcp', '')}/token` },
      });
      expect(viaOAuth.statusCode).toBe(403);
      expect(canary.hits).toBe(0);
      expect(await hub.repos.servers.findByName('canary')).toBeNull();
    });

    it('a host only the YAML names (not mcpSettings.allowedDomains) is refused for users: no way round `access`', async () => {
      const before = internal.requests;
      const res = await create(alice, { type: 'streamable-http', title: 'Internal', url: internal.url });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ error: 'MCP_DOMAIN_NOT_ALLOWED' });
      expect(internal.requests).toBe(before);
    });

    it('a server that cannot be reached or does not speak MCP is a 400 MCP_INSPECTION_FAILED', async () => {
      const closed = `http://127.0.0.1:${process.env.SERVERS_TEST_CLOSED_PORT}/mcp`;
      const res = await create(alice, { type: 'streamable-http', title: 'Down', url: closed });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        error: 'MCP_INSPECTION_FAILED',
        code: 'HUB_ERR_MCP_INSPECTION_FAILED',
      });
      probe.setMode('fail-500');
      try {
        const failing = await create(alice, { type: 'streamable-http', title: 'Failing', url: probe.url });
        expect(failing.statusCode).toBe(400);
        expect(failing.json()).toMatchObject({ code: 'HUB_ERR_MCP_INSPECTION_FAILED', upstreamStatus: 500 });
        expect(failing.body).not.toContain('fail-500 mode'); // the upstream's words are not passed on
      } finally {
        probe.setMode('normal');
      }
      expect(await hub.repos.servers.findByName('down')).toBeNull();
    });

    it('a 401 with a WWW-Authenticate challenge records requiresOAuth', async () => {
      const res = await create(alice, { type: 'streamable-http', title: 'Needs OAuth', url: oauthPeer.url });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ serverName: 'needs-oauth', requiresOAuth: true, toolCount: null });
      const status = await api.get('/api/mcp/connection/status/needs-oauth', alice);
      expect(status.json()).toMatchObject({ requiresOAuth: true, connectionStatus: 'disconnected' });
    });

    it('a 401 without a challenge is refused, unless each user brings their own key', async () => {
      const refused = await create(alice, { type: 'streamable-http', title: 'Keyed', url: keyed.url });
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({ code: 'HUB_ERR_MCP_INSPECTION_FAILED', upstreamStatus: 401 });
      const withAdminKey = await create(alice, {
        type: 'streamable-http',
        title: 'Keyed Admin',
        url: keyed.url,
        apiKey: {
          source: 'admin',
          key: 'shared-key',
          authorization_type: 'custom',
          custom_header: 'X-Api-Key',
        },
      });
      expect(withAdminKey.json()).toMatchObject({ toolCount: 6, apiKey: { key: '***', source: 'admin' } });
      const perUser = await create(alice, {
        type: 'streamable-http',
        title: 'Keyed User',
        url: keyed.url,
        apiKey: { source: 'user', authorization_type: 'custom', custom_header: 'X-Api-Key' },
      });
      expect(perUser.statusCode).toBe(201);
      expect(perUser.json()).toMatchObject({
        serverName: 'keyed-user',
        requiresOAuth: false,
        toolCount: null,
      });
    });

    it('apiKey source user becomes a custom user variable (MCP_API_KEY); SE-06: only flags come back', async () => {
      const tools = await api.get('/api/mcp/tools', alice);
      expect(tools.json()).toMatchObject({
        servers: {
          'keyed-user': {
            authenticated: false,
            authConfig: [{ authField: 'MCP_API_KEY', label: 'API Key', description: expect.any(String) }],
          },
        },
      });
      const put = await api.put('/api/mcp/keyed-user/auth-values', alice, {
        values: { MCP_API_KEY: 'alice-own-key-77' },
      });
      expect(put.json()).toEqual({
        success: true,
        serverName: 'keyed-user',
        authValueFlags: { MCP_API_KEY: true },
      });
      expect(put.body).not.toContain('alice-own-key-77');
      const whoami = await call('keyed-user', 'whoami', alice);
      expect(JSON.parse(responseText(whoami))).toMatchObject({ 'x-api-key': 'alice-own-key-77' });
      const flags = await api.get('/api/mcp/keyed-user/auth-values', alice);
      expect(flags.body).not.toContain('alice-own-key-77');
    });
  });

  describe('update', () => {
    it('SE-07: a PATCH that sends the mask back keeps the stored secret; a new value replaces it', async () => {
      const keep = await api.patch('/api/mcp/servers/probe-one', alice, {
        config: {
          type: 'streamable-http',
          url: probe.url,
          title: 'Probe One',
          headers: { 'X-Api-Key': '***' },
        },
      });
      expect(keep.statusCode).toBe(200);
      expect(keep.json()).toMatchObject({ headers: { 'X-Api-Key': '***' } });
      expect(JSON.parse(responseText(await call('probe-one', 'whoami', alice)))).toMatchObject({
        'x-api-key': HEADER_SECRET,
      });

      const replaced = await api.patch('/api/mcp/servers/probe-one', alice, {
        config: {
          type: 'streamable-http',
          url: probe.url,
          title: 'Probe One',
          headers: { 'X-Api-Key': 'new-secret-2' },
        },
      });
      expect(replaced.statusCode).toBe(200);
      expect(JSON.parse(responseText(await call('probe-one', 'whoami', alice)))).toMatchObject({
        'x-api-key': 'new-secret-2',
      });
    });

    it('a mask with nothing stored, or one sent to a new URL, is refused (a key never follows a move)', async () => {
      const nothingStored = await api.patch('/api/mcp/servers/probe-one', alice, {
        config: {
          type: 'streamable-http',
          url: probe.url,
          title: 'Probe One',
          headers: { 'X-Other': '***' },
        },
      });
      expect(nothingStored.statusCode).toBe(400);
      expect(validationErrors(nothingStored)).toEqual([
        { path: 'config.headers.X-Other', message: expect.stringContaining('no value') },
      ]);
      const moved = await api.patch('/api/mcp/servers/probe-one', alice, {
        config: {
          type: 'streamable-http',
          url: keyed.url,
          title: 'Probe One',
          headers: { 'X-Api-Key': '***' },
        },
      });
      expect(moved.statusCode).toBe(400);
      expect(validationErrors(moved)[0]).toMatchObject({ path: 'config.headers.X-Api-Key' });
      expect(keyed.lastHeaders().some((h) => h['x-api-key'] === 'new-secret-2')).toBe(false);
    });

    it('an update closes live connections and drops cached tools, then reopens them with the new config', async () => {
      const owner = await hub.repos.users.findByEmail('alice@example.com');
      const key = `user|${owner!.id}|probe-one`;
      expect(hub.pool.state(key)).toBe('connected');
      const old = hub.pool.peek(key);
      const listedTools = async (): Promise<string[]> => {
        const res = await api.get('/api/mcp/tools', alice);
        const servers = res.json<{ servers: Record<string, { tools: Array<{ name: string }> }> }>().servers;
        return (servers['probe-one']?.tools ?? []).map((t) => t.name);
      };
      expect(await listedTools()).toContain('whoami');
      const res = await api.patch('/api/mcp/servers/probe-one', alice, {
        config: { type: 'sse', url: everything.url.replace('/mcp', '/sse'), title: 'Probe One' },
      });
      // server-everything in streamable mode has no /sse: the inspection refuses the change…
      expect(res.statusCode).toBe(400);
      expect(hub.pool.state(key)).toBe('connected'); // …and nothing was closed
      const moved = await api.patch('/api/mcp/servers/probe-one', alice, {
        config: { type: 'streamable-http', url: everything.url, title: 'Probe One' },
      });
      expect(moved.statusCode).toBe(200);
      expect(moved.json()).toMatchObject({ url: everything.url, toolCount: expect.any(Number) });
      expect(moved.json()).not.toHaveProperty('headers');
      // The old connection is closed and the probe's tool list gone before the answer; the
      // connection reopens in the background and lists server-everything's tools, with no call.
      expect(hub.pool.peek(key)).not.toBe(old);
      expect(await listedTools()).not.toContain('whoami');
      await expect.poll(listedTools, { timeout: 5_000 }).toContain('echo');
      expect(hub.pool.state(key)).toBe('connected');
      const echo = await call('probe-one', 'echo', alice, { message: 'moved' });
      expect(responseText(echo)).toBe('Echo: moved');
    });

    it('an invalid update changes nothing', async () => {
      const before = await hub.repos.servers.findByName('probe-one');
      const res = await api.patch('/api/mcp/servers/probe-one', alice, {
        config: { type: 'stdio', command: 'sh' },
      });
      expect(res.statusCode).toBe(400);
      expect(await hub.repos.servers.findByName('probe-one')).toEqual(before);
    });
  });

  describe('delete', () => {
    it('closes every connection, removes every user’s credentials, and the server is gone', async () => {
      const create1 = await create(alice, {
        type: 'streamable-http',
        title: 'Doomed',
        url: keyed.url,
        apiKey: { source: 'user', authorization_type: 'custom', custom_header: 'X-Api-Key' },
      });
      expect(create1.statusCode).toBe(201);
      await api.put('/api/mcp/servers/doomed/permissions', alice, {
        principals: [{ type: 'user', email: 'bob@example.com', role: 'viewer' }],
      });
      for (const [token, value] of [
        [alice, 'a-key'],
        [bob, 'b-key'],
      ] as const) {
        await api.put('/api/mcp/doomed/auth-values', token, { values: { MCP_API_KEY: value } });
        expect((await call('doomed', 'echo', token, { message: 'x' })).statusCode).toBe(200);
      }
      const [aliceId, bobId] = await Promise.all(
        ['alice@example.com', 'bob@example.com'].map(async (e) => (await hub.repos.users.findByEmail(e))!.id),
      );
      expect(hub.pool.state(`user|${bobId}|doomed`)).toBe('connected');
      const sessionsBefore = keyed.sessions;

      const res = await api.del('/api/mcp/servers/doomed', alice);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ success: true, message: 'MCP server deleted successfully' });
      expect(hub.pool.state(`user|${aliceId}|doomed`)).toBe('disconnected');
      expect(hub.pool.state(`user|${bobId}|doomed`)).toBe('disconnected');
      expect(keyed.sessions).toBe(sessionsBefore - 2);
      for (const id of [aliceId!, bobId!]) {
        expect(
          await hub.repos.credentials.get({ userId: id, serverName: 'doomed', kind: 'user_vars' }),
        ).toBeNull();
        expect(await hub.kv.get(`tools:user|${id}|doomed`)).toBeNull();
      }
      expect((await api.get('/api/mcp/servers/doomed', alice)).statusCode).toBe(404);
      expect((await call('doomed', 'echo', bob, { message: 'x' })).statusCode).toBe(404);
      expect((await api.del('/api/mcp/servers/doomed', alice)).statusCode).toBe(404);
    });
  });

  describe('listing', () => {
    it('pages with limit and an opaque cursor in X-Next-Cursor, and honours search', async () => {
      for (const n of [1, 2, 3, 4, 5]) {
        expect(
          (await create(bob, { type: 'streamable-http', url: probe.url, title: `Paged ${n}` })).statusCode,
        ).toBe(201);
      }
      const names: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const res = await api.get(
          `/api/mcp/servers?search=PAGED&limit=2${cursor ? `&after=${cursor}` : ''}`,
          bob,
        );
        expect(res.statusCode).toBe(200);
        names.push(...Object.keys(res.json()));
        cursor = res.headers['x-next-cursor'] as string | undefined;
        pages += 1;
      } while (cursor !== undefined && pages < 10);
      expect(names).toEqual(['paged-1', 'paged-2', 'paged-3', 'paged-4', 'paged-5']);
      expect(pages).toBe(3);
    });

    it('the default page is 20; limits outside 1–100 and foreign cursors are refused', async () => {
      const all = await api.get('/api/mcp/servers?limit=100', alice);
      const first = await api.get('/api/mcp/servers', alice);
      expect(Object.keys(first.json()).length).toBe(Math.min(20, Object.keys(all.json()).length));
      for (const query of [
        'limit=0',
        'limit=101',
        'limit=x',
        'after=%24%24',
        'after=bm90LWEtbmFtZSQ',
        `search=${'s'.repeat(101)}`,
      ]) {
        expect((await api.get(`/api/mcp/servers?${query}`, alice)).statusCode, query).toBe(400);
      }
    });

    it('AZ-13: a listing shows the caller’s own servers and none of anyone else’s private ones', async () => {
      const asBob = Object.keys((await api.get('/api/mcp/servers?limit=100', bob)).json());
      expect(asBob).toContain('paged-1');
      expect(asBob).toContain('github');
      expect(asBob).not.toContain('probe-one');
      expect(asBob).not.toContain('needs-oauth');
      const bobTools = Object.keys(
        (await api.get('/api/mcp/tools', bob)).json<{ servers: object }>().servers,
      );
      expect(bobTools).not.toContain('probe-one');
      const asAdmin = Object.keys((await api.get('/api/mcp/servers?limit=100', admin)).json());
      expect(asAdmin).toEqual(expect.arrayContaining(['probe-one', 'paged-1', 'admins-only']));
    });
  });

  describe('stored servers re-validate on read', () => {
    it('a row changed outside the API to run a command is never used', async () => {
      const created = await create(alice, { type: 'streamable-http', title: 'Tampered', url: probe.url });
      expect(created.statusCode).toBe(201);
      const record = await hub.repos.servers.findByName('tampered');
      await hub.repos.servers.update('tampered', {
        config: {
          ...record!.config,
          config: { type: 'stdio', command: 'sh', args: ['-c', 'touch /tmp/pwned'], title: 'T' },
        },
      });
      const tools = await api.get('/api/mcp/tools', alice);
      expect(Object.keys(tools.json<{ servers: object }>().servers)).not.toContain('tampered');
      expect((await call('tampered', 'echo', alice, { message: 'x' })).statusCode).toBe(404);
      expect(Object.keys((await api.get('/api/mcp/servers?limit=100', alice)).json())).not.toContain(
        'tampered',
      );
      expect(hub.logLines.some((line) => line.includes('stored MCP server is unusable'))).toBe(true);
      // It can still be deleted.
      expect((await api.del('/api/mcp/servers/tampered', alice)).statusCode).toBe(200);
    });

    it('secrets sealed for one server do not open on another (AAD names the server)', async () => {
      const a = await hub.repos.servers.findByName('keyed-admin');
      await create(alice, { type: 'streamable-http', title: 'Swap Target', url: probe.url });
      await hub.repos.servers.update('swap-target', { secrets: a!.secrets });
      const res = await call('swap-target', 'echo', alice, { message: 'x' });
      expect(res.statusCode).toBe(404);
      expect(hub.logLines.join('\n')).not.toContain('shared-key');
    });
  });

  describe('audit', () => {
    it('records create, update, delete and share with safe details; admins only', async () => {
      expect((await api.get('/api/admin/audit', alice)).statusCode).toBe(403);
      const res = await api.get('/api/admin/audit?limit=100', admin);
      expect(res.statusCode).toBe(200);
      const { events } = res.json<{
        events: Array<{
          action: string;
          targetId: string;
          actorId: string;
          details: Record<string, unknown>;
        }>;
      }>();
      const actions = new Set(events.map((e) => e.action));
      for (const action of ['server.create', 'server.update', 'server.delete', 'server.share'])
        expect(actions).toContain(action);
      const created = events.find((e) => e.action === 'server.create' && e.targetId === 'probe-one');
      expect(created?.details).toMatchObject({ type: 'streamable-http', toolCount: 6, requiresOAuth: false });
      expect(created?.details.host).toBe(new URL(probe.url).host);
      for (const secret of [HEADER_SECRET, 'new-secret-2', 'shared-key', 'cs-secret', JWT_SECRET]) {
        expect(res.body).not.toContain(secret);
      }
    });

    it('pages newest first with an opaque cursor', async () => {
      const first = await api.get('/api/admin/audit?limit=1', admin);
      const cursor = first.headers['x-next-cursor'] as string;
      expect(cursor).toBeTruthy();
      expect(first.json()).toMatchObject({ nextCursor: cursor });
      const second = await api.get(`/api/admin/audit?limit=1&after=${cursor}`, admin);
      const [a] = first.json<{ events: Array<{ at: number; id: string }> }>().events;
      const [b] = second.json<{ events: Array<{ at: number; id: string }> }>().events;
      expect(b!.id).not.toBe(a!.id);
      expect(b!.at).toBeLessThanOrEqual(a!.at);
      expect((await api.get('/api/admin/audit?after=garbage!', admin)).statusCode).toBe(400);
    });
  });

  it('SE-05: no secret a test minted appears in any log line', () => {
    const logs = hub.logLines.join('\n');
    for (const secret of [
      HEADER_SECRET,
      'new-secret-2',
      'shared-key',
      'cs-secret',
      'alice-own-key-77',
      JWT_SECRET,
      'yaml-admin-secret',
    ]) {
      expect(logs, secret).not.toContain(secret);
    }
  });
});
