import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEverything, everythingStdioCommand, type RunningEverything } from './peers/everything.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';

/** Issue 3: the seed's tool, status, reinitialize, auth-values and disconnect routes over real servers. */
describe('MCP routes over real upstreams', () => {
  let hub: TestHub;
  let sse: RunningEverything;
  let streamable: RunningEverything;
  let probe: ProbeServer;
  let alice: string;
  let bob: string;
  let admin: string;

  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const get = (url: string, token: string) => hub.app.inject({ method: 'GET', url, headers: auth(token) });
  const post = (url: string, token: string, payload?: unknown) =>
    hub.app.inject({
      method: 'POST',
      url,
      headers: auth(token),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const call = (server: string, tool: string, token: string, args: Record<string, unknown> = {}) =>
    post(`/api/mcp/${server}/tools/${tool}/call`, token, { arguments: args });
  const text = (res: { json: () => unknown }) =>
    (res.json() as { content: Array<{ text?: string }> }).content.map((c) => c.text ?? '').join('');

  const canaries = {
    JWT_SECRET: 'canary-jwt-secret-value-0123456789abcdef',
    CREDENTIALS_KEY: 'ab'.repeat(32),
    DATABASE_URL: 'postgres://canary:canary-pw@127.0.0.1:1/x',
    REDIS_URL: 'redis://:canary-redis-pw@127.0.0.1:1',
  };
  const savedEnv: Record<string, string | undefined> = {};

  beforeAll(async () => {
    // Put the secrets in the hub process's own environment: a child that inherited it would show them.
    for (const [k, v] of Object.entries(canaries)) {
      savedEnv[k] = process.env[k];
      process.env[k] = v;
    }
    [sse, streamable, probe] = await Promise.all([
      startEverything('sse'),
      startEverything('streamableHttp'),
      startProbeServer(),
    ]);
    const stdio = everythingStdioCommand();
    const yaml = `
mcpServers:
  everything:
    command: ${JSON.stringify(stdio.command)}
    args: ${JSON.stringify(stdio.args)}
  everything-sse:
    type: sse
    url: ${sse.url}
  everything-http:
    type: streamable-http
    url: ${streamable.url}
    startup: false
  keyed:
    type: streamable-http
    url: ${probe.url}
    headers:
      X-Api-Key: "{{API_KEY}}"
    customUserVars:
      API_KEY:
        title: API key
        description: Your key for the probe
  admins-only:
    type: streamable-http
    url: ${probe.url}
    access: { roles: [ADMIN] }
`;
    hub = await startTestHub({ yaml });
    await hub.startup?.firstPass;
    [alice, bob, admin] = await Promise.all([
      hub.userToken('alice@example.com'),
      hub.userToken('bob@example.com'),
      hub.userToken('root@example.com', 'ADMIN'),
    ]);
  }, 60_000);

  afterAll(async () => {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await hub?.dispose();
    await Promise.all([sse?.stop(), streamable?.stop(), probe?.stop()]);
  });

  it('lists every visible server; app-level ones connected at start come with their tools', async () => {
    const res = await get('/api/mcp/tools', alice);
    expect(res.statusCode).toBe(200);
    const { servers } = res.json<{
      servers: Record<string, { authenticated: boolean; tools: Array<{ name: string; pluginKey: string }> }>;
    }>();
    expect(Object.keys(servers).sort()).toEqual(['everything', 'everything-http', 'everything-sse', 'keyed']);
    for (const name of ['everything', 'everything-sse']) {
      const names = servers[name]!.tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['echo', 'get-sum']));
      expect(servers[name]!.tools.find((t) => t.name === 'echo')!.pluginKey).toBe(`echo_mcp_${name}`);
    }
    // startup: false is user-level and never connected by a listing.
    expect(servers['everything-http']!.tools).toEqual([]);
    expect(servers.keyed).toMatchObject({
      authenticated: false,
      authConfig: [{ authField: 'API_KEY', label: 'API key', description: 'Your key for the probe' }],
      tools: [],
    });
  });

  it.each(['everything', 'everything-sse', 'everything-http'])(
    'calls echo and get-sum on %s',
    async (server) => {
      const echo = await call(server, 'echo', alice, { message: 'hi' });
      expect(echo.statusCode).toBe(200);
      expect(text(echo)).toBe('Echo: hi');
      const sum = await call(server, 'get-sum', alice, { a: 2, b: 3 });
      expect(sum.statusCode).toBe(200);
      expect(text(sum)).toContain('5');
      const status = await get(`/api/mcp/connection/status/${server}`, alice);
      expect(status.json()).toEqual({
        success: true,
        serverName: server,
        connectionStatus: 'connected',
        requiresOAuth: false,
      });
    },
  );

  it('arguments that fail the tool schema come back as a tool error, not a 500', async () => {
    const res = await call('everything', 'get-sum', alice, { a: 'not a number' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ isError: true });
  });

  it('an unknown tool is a tool error from the upstream', async () => {
    const res = await call('everything', 'no-such-tool', alice);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ isError: true });
  });

  describe('custom user variables', () => {
    it('a user without a value gets authenticated:false and a clear 400 on call, and the upstream sees nothing', async () => {
      const before = probe.requests;
      const res = await call('keyed', 'whoami', bob);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_MISSING_USER_VARS', missing: ['API_KEY'] });
      expect(res.json<{ error: string }>().error).toContain('API_KEY');
      expect(probe.requests).toBe(before);
    });

    it('each user’s own value reaches the upstream, and values are never returned', async () => {
      const put = (token: string, value: string) =>
        hub.app.inject({
          method: 'PUT',
          url: '/api/mcp/keyed/auth-values',
          headers: auth(token),
          payload: { values: { API_KEY: value } },
        });
      expect((await put(alice, 'alice-key-123')).json()).toEqual({
        success: true,
        serverName: 'keyed',
        authValueFlags: { API_KEY: true },
      });
      expect((await put(bob, 'bob-key-456')).statusCode).toBe(200);
      const [a, b] = await Promise.all([call('keyed', 'whoami', alice), call('keyed', 'whoami', bob)]);
      expect(JSON.parse(text(a))).toMatchObject({ 'x-api-key': 'alice-key-123' });
      expect(JSON.parse(text(b))).toMatchObject({ 'x-api-key': 'bob-key-456' });
      const flags = await get('/api/mcp/keyed/auth-values', alice);
      expect(flags.json()).toEqual({ success: true, serverName: 'keyed', authValueFlags: { API_KEY: true } });
      expect(flags.body).not.toContain('alice-key-123');
      const listing = await get('/api/mcp/tools', alice);
      expect(listing.json()).toMatchObject({ servers: { keyed: { authenticated: true } } });
      expect(listing.body).not.toContain('alice-key-123');
    });

    it('values are stored encrypted', async () => {
      const row = await hub.repos.credentials.get({
        userId: (await hub.repos.users.findByEmail('alice@example.com'))!.id,
        serverName: 'keyed',
        kind: 'user_vars',
      });
      expect(row).not.toBeNull();
      expect(row!.ciphertext).not.toContain('alice-key-123');
    });

    it('changing a value replaces the connection: the upstream sees the new value at once', async () => {
      await hub.app.inject({
        method: 'PUT',
        url: '/api/mcp/keyed/auth-values',
        headers: auth(alice),
        payload: { values: { API_KEY: 'alice-key-new' } },
      });
      expect(JSON.parse(text(await call('keyed', 'whoami', alice)))).toMatchObject({
        'x-api-key': 'alice-key-new',
      });
    });

    it('DELETE clears them; the next call is refused again', async () => {
      const res = await hub.app.inject({
        method: 'DELETE',
        url: '/api/mcp/keyed/auth-values',
        headers: auth(bob),
      });
      expect(res.json()).toEqual({ success: true, serverName: 'keyed', authValueFlags: { API_KEY: false } });
      expect((await call('keyed', 'whoami', bob)).statusCode).toBe(400);
    });

    it.each([
      ['an unknown variable', { values: { OTHER: 'x' } }],
      ['a value with a line break', { values: { API_KEY: 'a\r\nX-Evil: 1' } }],
      ['a non-string value', { values: { API_KEY: 42 } }],
      ['no values object', { API_KEY: 'x' }],
    ])('PUT with %s → 400', async (_name, payload) => {
      const res = await hub.app.inject({
        method: 'PUT',
        url: '/api/mcp/keyed/auth-values',
        headers: auth(alice),
        payload,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toHaveProperty('error');
    });
  });

  describe('status and listing never connect or disconnect', () => {
    it('a user-level server stays disconnected through listings and status reads', async () => {
      const fresh = await hub.userToken('carol@example.com');
      for (let i = 0; i < 3; i++) {
        await get('/api/mcp/tools', fresh);
        await get('/api/mcp/connection/status', fresh);
        await get('/api/mcp/connection/status/everything-http', fresh);
      }
      const all = await get('/api/mcp/connection/status', fresh);
      expect(all.json()).toMatchObject({
        success: true,
        connectionStatus: { 'everything-http': { connectionState: 'disconnected', requiresOAuth: false } },
      });
    });

    it('reinitialize connects, disconnect closes', async () => {
      const carol = await hub.userToken('carol@example.com');
      const reinit = await post('/api/mcp/everything-http/reinitialize', carol);
      expect(reinit.json()).toEqual({
        success: true,
        message: "MCP server 'everything-http' reinitialized successfully",
        oauthUrl: null,
        serverName: 'everything-http',
        oauthRequired: false,
      });
      expect((await get('/api/mcp/connection/status/everything-http', carol)).json()).toMatchObject({
        connectionStatus: 'connected',
      });
      const tools = await get('/api/mcp/tools', carol);
      expect(
        tools.json<{ servers: Record<string, { tools: unknown[] }> }>().servers['everything-http']!.tools
          .length,
      ).toBeGreaterThan(5);
      expect((await post('/api/mcp/everything-http/disconnect', carol)).json()).toMatchObject({
        success: true,
      });
      expect((await get('/api/mcp/connection/status/everything-http', carol)).json()).toMatchObject({
        connectionStatus: 'disconnected',
      });
    });
  });

  describe('names and visibility', () => {
    it('an unknown server → 404 with the contract’s message', async () => {
      const res = await get('/api/mcp/connection/status/nope', alice);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({
        error: "MCP server 'nope' not found in configuration",
        code: 'HUB_ERR_SERVER_NOT_FOUND',
      });
    });

    it('a server limited to admins is a 404 for users and visible to admins', async () => {
      expect((await get('/api/mcp/connection/status/admins-only', alice)).statusCode).toBe(404);
      expect((await call('admins-only', 'echo', alice, { message: 'x' })).statusCode).toBe(404);
      expect((await get('/api/mcp/connection/status/admins-only', admin)).statusCode).toBe(200);
    });

    it.each([
      ['..%2Fx', 'an encoded traversal'],
      ['a'.repeat(65), '65 characters'],
      ['bad%0Aname', 'a control character'],
      ['-leading', 'a leading dash'],
      ['sp%20ace', 'a space'],
    ])('a malformed name %s (%s) → 400 before any lookup', async (name) => {
      for (const res of [
        await get(`/api/mcp/connection/status/${name}`, alice),
        await get(`/api/mcp/${name}/auth-values`, alice),
        await post(`/api/mcp/${name}/reinitialize`, alice),
        await call(name, 'echo', alice),
      ]) {
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({ code: 'HUB_ERR_INVALID_SERVER_NAME' });
      }
    });

    it('a malformed tool name → 400', async () => {
      const res = await call('everything', 'bad%0Atool', alice);
      expect(res.statusCode).toBe(400);
    });

    it('every route needs a token', async () => {
      for (const [method, url] of [
        ['GET', '/api/mcp/tools'],
        ['GET', '/api/mcp/connection/status'],
        ['GET', '/api/mcp/connection/status/everything'],
        ['POST', '/api/mcp/everything/reinitialize'],
        ['POST', '/api/mcp/everything/disconnect'],
        ['GET', '/api/mcp/everything/auth-values'],
        ['POST', '/api/mcp/everything/tools/echo/call'],
      ] as const) {
        const res = await hub.app.inject({ method, url, headers: { authorization: 'Bearer garbage' } });
        expect(res.statusCode, `${method} ${url}`).toBe(401);
      }
    });

    it('a tool-call body that is not an object, or has unknown fields → 400', async () => {
      for (const payload of [
        '[1]',
        '"x"',
        '{"arguments": [1]}',
        '{"args": {}}',
        '{"arguments": {"message": "x"}',
      ]) {
        const res = await hub.app.inject({
          method: 'POST',
          url: '/api/mcp/everything/tools/echo/call',
          headers: { ...auth(alice), 'content-type': 'application/json' },
          payload,
        });
        expect(res.statusCode, payload).toBe(400);
      }
    });
  });

  describe('faults', () => {
    it('an upstream killed mid-call fails the call promptly; the next call reconnects', async () => {
      const started = Date.now();
      await hub.app.inject({
        method: 'PUT',
        url: '/api/mcp/keyed/auth-values',
        headers: auth(alice),
        payload: { values: { API_KEY: 'k' } },
      });
      const res = await call('keyed', 'crash', alice);
      expect(res.statusCode).toBeGreaterThanOrEqual(500);
      expect(Date.now() - started).toBeLessThan(15_000);
      await probe.restart();
      const again = await call('keyed', 'echo', alice, { message: 'back' });
      expect(again.statusCode).toBe(200);
      expect(text(again)).toBe('Echo: back');
    });
  });

  it('connection outcomes are counted per server in /metrics', async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.body).toMatch(
      /switchboard_upstream_connects_total\{server="everything",outcome="connected"\} [1-9]/,
    );
    expect(res.body).not.toContain('alice');
  });

  it('the stdio child’s environment holds none of the hub’s secrets', async () => {
    const res = await call('everything', 'get-env', alice);
    expect(res.statusCode).toBe(200);
    const env = text(res);
    expect(env).toContain('PATH');
    for (const [name, value] of Object.entries(canaries)) {
      expect(env).not.toContain(name);
      expect(env).not.toContain(value);
    }
  });
});
