import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

/**
 * Issue 5 item 1: what a user may put in a server config, and the names servers get. Every refusal
 * is a 400 that names its field, and a refused config leaves nothing behind.
 */
describe('user-created servers: names and input validation', () => {
  const JWT_SECRET = 'canary-jwt-secret-7a6b5c4d3e2f1a0b9c8d';
  let hub: ServersTestHub;
  let api: ApiClient;
  let probe: ProbeServer;
  let canary: Listener;
  let alice: string;
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
    [probe, canary] = await Promise.all([startProbeServer(), startListener()]);
    hub = await startServersHub({
      env: { JWT_SECRET },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1:${new URL(probe.url).port}']
mcpServers:
  github:
    type: streamable-http
    url: ${probe.url}
    startup: false
`,
    });
    api = apiClient(hub.app);
    [alice, admin] = await Promise.all([
      hub.userToken('alice@example.com'),
      hub.userToken('root@example.com', 'ADMIN'),
    ]);
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await Promise.all([probe?.stop(), canary?.close()]);
  });

  describe('names', () => {
    const nameOf = async (title: string, url = probe.url): Promise<string> => {
      const res = await create(alice, { type: 'streamable-http', url, title });
      expect(res.statusCode, res.body).toBe(201);
      return res.json<{ serverName: string }>().serverName;
    };

    it('a slug of the title; the same title again gets -2, -3 regardless of case (IV-06)', async () => {
      expect(await nameOf('My Server')).toBe('my-server');
      expect(await nameOf('my server')).toBe('my-server-2');
      expect(await nameOf('MY  SERVER!!')).toBe('my-server-3');
    });

    it('a YAML name and the route words get a suffix too', async () => {
      expect(await nameOf('GitHub')).toBe('github-2');
      expect(await nameOf('Servers')).toBe('servers-2');
      expect(await nameOf('tools')).toBe('tools-2');
      expect(await nameOf('OAuth')).toBe('oauth-2');
      expect(await nameOf('Connection')).toBe('connection-2');
    });

    it('IV-05: fullwidth letters are NFKC-normalised before the uniqueness check', async () => {
      expect(await nameOf('mcp')).toBe('mcp');
      expect(await nameOf('ｍｃｐ')).toBe('mcp-2');
      expect(await nameOf('Café Menu')).toBe('caf-menu');
    });

    it('IV-05: invisible or control characters in a title are refused', async () => {
      for (const title of ['mcp\u200b', 'a\u202eb', 'tab\there', 'line\nbreak']) {
        const res = await create(alice, { type: 'streamable-http', url: probe.url, title });
        expect(res.statusCode, JSON.stringify(title)).toBe(400);
        expect(validationErrors(res)).toEqual([
          { path: 'config.title', message: expect.stringContaining('invisible') },
        ]);
      }
    });

    it('a title with no ASCII letter or digit, or none at all, is refused; long ones are cut to 64', async () => {
      for (const config of [{ title: '!!!' }, { title: 'міі' }, {}, { title: '   ' }]) {
        const res = await create(alice, { type: 'streamable-http', url: probe.url, ...config });
        expect(res.statusCode, JSON.stringify(config)).toBe(400);
        expect(res.json()).toMatchObject({ message: 'Invalid configuration', code: 'HUB_ERR_VALIDATION' });
        expect(validationErrors(res)[0]!.path).toBe('config.title');
      }
      const long = 'x'.repeat(64) + ' tail';
      const first = await nameOf(long);
      const second = await nameOf(long);
      expect(first).toBe('x'.repeat(64));
      expect(second).toBe(`${'x'.repeat(62)}-2`);
      expect((await create(alice, { type: 'sse', url: probe.url, title: 'y'.repeat(101) })).statusCode).toBe(
        400,
      );
    });

    it('a changed title keeps the name', async () => {
      await nameOf('Stable Name');
      const res = await api.patch('/api/mcp/servers/stable-name', alice, {
        config: { type: 'streamable-http', url: probe.url, title: 'Another Title' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ serverName: 'stable-name', title: 'Another Title' });
    });

    it('IV-04: a malformed name in the path is a 400 before any lookup', async () => {
      for (const name of ['..%2Fetc', '..%2f', 'a%2Fb', 'a%5Cb', '%00x', 'a'.repeat(65), '-x', 'sp%20ace']) {
        for (const res of [
          await api.get(`/api/mcp/servers/${name}`, alice),
          await api.patch(`/api/mcp/servers/${name}`, alice, { config: {} }),
          await api.del(`/api/mcp/servers/${name}`, alice),
          await api.get(`/api/mcp/servers/${name}/permissions`, alice),
        ]) {
          expect(res.statusCode, name).toBe(400);
          expect(res.json()).toMatchObject({ code: 'HUB_ERR_INVALID_SERVER_NAME' });
        }
      }
      expect((await api.get('/api/mcp/servers/', alice)).statusCode).toBe(400);
    });

    it('IV-04: dot segments sent raw on a socket are a 400 too (inject would normalise them away)', async () => {
      const address = new URL(await hub.app.listen({ host: '127.0.0.1', port: 0 }));
      for (const raw of ['/api/mcp/servers/%2e%2e', '/api/mcp/servers/..', '/api/mcp/servers/%2E']) {
        const status = await new Promise<number>((resolve, reject) => {
          const req = httpRequest(
            {
              host: '127.0.0.1',
              port: address.port,
              path: raw,
              headers: { authorization: `Bearer ${alice}` },
            },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', reject);
          req.end();
        });
        expect(status, raw).toBe(400);
      }
    });

    it('route order: /api/mcp/servers/... is never taken by /api/mcp/:serverName/... routes', async () => {
      // A server may be named like the words after /api/mcp/:serverName/.
      expect(await nameOf('Auth Values')).toBe('auth-values');
      expect(await nameOf('Reinitialize')).toBe('reinitialize');
      const read = await api.get('/api/mcp/servers/auth-values', alice);
      expect(read.json()).toMatchObject({ serverName: 'auth-values', source: 'user' });
      // POST /api/mcp/servers/reinitialize only matches /api/mcp/:serverName/reinitialize, where
      // 'servers' is a reserved name: a clean 400, never a server called "servers".
      const reinit = await api.post('/api/mcp/servers/reinitialize', alice);
      expect(reinit.statusCode).toBe(400);
      expect(reinit.json()).toMatchObject({ code: 'HUB_ERR_INVALID_SERVER_NAME' });
      expect((await api.del('/api/mcp/servers/auth-values', alice)).json()).toEqual({
        success: true,
        message: 'MCP server deleted successfully',
      });
      expect((await api.get('/api/mcp/servers/auth-values', alice)).statusCode).toBe(404);
    });
  });

  describe('validation: 400 {message: "Invalid configuration", errors} naming the field', () => {
    const refused = async (config: unknown, path: string, token = alice): Promise<ApiResponse> => {
      const before = await hub.repos.servers.listNames();
      const res = await create(token, config);
      expect(res.statusCode, `${JSON.stringify(config)} → ${res.body}`).toBe(400);
      expect(res.json()).toMatchObject({ message: 'Invalid configuration', code: 'HUB_ERR_VALIDATION' });
      expect(
        validationErrors(res)
          .map((e) => e.path)
          .some((p) => p === path || p.startsWith(`${path}[`)),
      ).toBe(true);
      expect(await hub.repos.servers.listNames()).toEqual(before);
      return res;
    };
    const base = { type: 'streamable-http', title: 'Valid Title' };

    it('SX-01: stdio, command, args and env are refused', async () => {
      await refused({ ...base, type: 'stdio', command: 'sh', args: ['-c', 'id'] }, 'config.type');
      await refused({ title: 'x', command: 'sh' }, 'config.command');
      await refused({ ...base, url: probe.url, env: { A: 'b' } }, 'config.env');
      await refused({ title: 'x', command: 'node', args: [] }, 'config.args', admin);
    });

    it('only sse and streamable-http: websocket and ws:// are refused', async () => {
      await refused({ ...base, type: 'websocket', url: 'ws://127.0.0.1:1/' }, 'config.type');
      await refused({ title: 'x', url: 'wss://127.0.0.1:1/' }, 'config.url');
      await refused({ ...base, type: 'grpc', url: probe.url }, 'config.type');
    });

    it('URLs: http(s) only, present, no user info, no fragment', async () => {
      await refused({ ...base }, 'config.url');
      await refused({ ...base, url: 'ftp://127.0.0.1/' }, 'config.url');
      await refused({ ...base, url: 'javascript:alert(1)' }, 'config.url');
      await refused({ ...base, url: 'not a url' }, 'config.url');
      await refused({ ...base, url: probe.url.replace('http://', 'http://user:pass@') }, 'config.url');
      await refused({ ...base, url: `${probe.url}#frag` }, 'config.url');
      await refused(
        { ...base, url: probe.url, oauth: { token_url: 'https://u:p@as.example/token' } },
        'config.oauth.token_url',
      );
    });

    it('AZ-10: admin-only fields are refused, each by name', async () => {
      const adminOnly: Record<string, unknown> = {
        startup: false,
        timeout: 1000,
        initTimeout: 1000,
        sseReadTimeout: 1000,
        chatMenu: true,
        serverInstructions: true,
        requiresOAuth: false,
        customUserVars: { K: { title: 't', description: 'd' } },
        oauth_headers: { A: 'b' },
        access: { roles: ['USER'] },
        idleTimeout: 0,
      };
      for (const [field, value] of Object.entries(adminOnly)) {
        const res = await refused({ ...base, url: probe.url, [field]: value }, `config.${field}`);
        expect(res.body).toContain('administrator');
      }
      await refused(
        { ...base, url: probe.url, oauth: { skip_code_challenge_check: true } },
        'config.oauth.skip_code_challenge_check',
      );
      // Admins use the YAML file for these too: the API is the same for everyone.
      await refused({ ...base, url: probe.url, startup: true }, 'config.startup', admin);
    });

    it('unknown fields are refused by name, with a hint when one is close', async () => {
      const res = await refused({ ...base, url: probe.url, foo: 1 }, 'config.foo');
      expect(validationErrors(res)[0]!.message).toContain('foo');
      const hinted = await refused({ ...base, url: probe.url, header: { a: 'b' } }, 'config.header');
      expect(validationErrors(hinted)[0]!.message).toContain('headers');
      await refused({ ...base, url: probe.url, oauth: { clientId: 'x' } }, 'config.oauth.clientId');
    });

    it('IV-07: CR/LF in header names or values, and managed headers, are refused', async () => {
      await refused({ ...base, url: probe.url, headers: { 'X-A': 'v\r\nX-Evil: 1' } }, 'config.headers.X-A');
      await refused({ ...base, url: probe.url, headers: { 'X-A': 'v\nb' } }, 'config.headers.X-A');
      await refused({ ...base, url: probe.url, headers: { 'X-A\r\nX-B': 'v' } }, 'config.headers');
      await refused({ ...base, url: probe.url, headers: { Host: 'internal' } }, 'config.headers.Host');
      await refused(
        { ...base, url: probe.url, headers: { 'Mcp-Session-Id': 'x' } },
        'config.headers.Mcp-Session-Id',
      );
      await refused(
        { ...base, url: probe.url, apiKey: { source: 'admin', key: 'a\r\nb', authorization_type: 'bearer' } },
        'config.apiKey.key',
      );
      await refused(
        {
          ...base,
          url: probe.url,
          apiKey: { source: 'user', authorization_type: 'custom', custom_header: 'X Y' },
        },
        'config.apiKey.custom_header',
      );
    });

    it('apiKey: a user-sourced key gives no key; an admin-sourced one must', async () => {
      await refused(
        { ...base, url: probe.url, apiKey: { source: 'user', key: 'k', authorization_type: 'bearer' } },
        'config.apiKey.key',
      );
      await refused(
        { ...base, url: probe.url, apiKey: { source: 'admin', authorization_type: 'bearer' } },
        'config.apiKey.key',
      );
    });

    it('IV-08: ${…} anywhere is refused, not stored, never resolved; the secret appears nowhere', async () => {
      const hitsBefore = canary.hits;
      for (const [config, where] of [
        [{ ...base, url: `http://127.0.0.1:${canary.port}/mcp?k=\${JWT_SECRET}` }, 'config.url'],
        [{ ...base, url: probe.url, headers: { 'X-K': '${JWT_SECRET}' } }, 'config.headers.X-K'],
        [{ ...base, url: probe.url, headers: { 'X-K': 'Bearer ${env:CREDS_KEY}' } }, 'config.headers.X-K'],
        [{ ...base, title: 'T ${JWT_SECRET}', url: probe.url }, 'config.title'],
        [{ ...base, url: probe.url, description: '${JWT_SECRET}' }, 'config.description'],
        [
          { ...base, url: probe.url, oauth: { client_secret: '${JWT_SECRET}' } },
          'config.oauth.client_secret',
        ],
      ] as const) {
        const res = await refused(config, where);
        expect(res.body).not.toContain(JWT_SECRET);
      }
      expect(canary.hits).toBe(hitsBefore);
      expect(databaseBytes()).not.toContain(JWT_SECRET);
      expect(databaseBytes()).not.toContain('${JWT_SECRET}');
      expect(hub.logLines.join('\n')).not.toContain(JWT_SECRET);
    });

    it('IV-08: identity placeholders are refused in URLs and removed from header values', async () => {
      await refused({ ...base, url: `${probe.url}?u={{LIBRECHAT_USER_ID}}` }, 'config.url');
      const res = await create(alice, {
        ...base,
        title: 'Placeholder Probe',
        url: probe.url,
        headers: { 'X-Api-Key': 'k-{{LIBRECHAT_USER_EMAIL}}{{ USER_ID }}-{{OTHER}}' },
      });
      expect(res.statusCode).toBe(201);
      const whoami = JSON.parse(responseText(await call('placeholder-probe', 'whoami', alice)));
      expect(whoami['x-api-key']).toBe('k--{{OTHER}}');
      expect(JSON.stringify(whoami)).not.toContain('alice@example.com');
    });

    it('OA-14: a user-given oauth.redirect_uri is dropped, the rest kept', async () => {
      const res = await create(alice, {
        ...base,
        title: 'Redirect Probe',
        url: probe.url,
        oauth: { client_id: 'cid', client_secret: 'cs-secret', redirect_uri: 'https://attacker.example/cb' },
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({
        oauth: { client_id: 'cid', client_secret: '***' },
        requiresOAuth: true,
      });
      expect(res.body).not.toContain('attacker.example');
      expect(JSON.stringify(await hub.repos.servers.findByName('redirect-probe'))).not.toContain('attacker');
    });

    it('bodies that are not {config: object} are refused', async () => {
      for (const payload of [
        {},
        { config: 'x' },
        { config: [] },
        { config: null },
        { config: {}, extra: 1 },
      ]) {
        const res = await api.post('/api/mcp/servers', alice, payload);
        expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      }
    });

    it('IV-03: __proto__ keys change nothing', async () => {
      const res = await hub.app.inject({
        method: 'POST',
        url: '/api/mcp/servers',
        headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
        payload: `{"config":{"type":"sse","title":"P","url":"${probe.url}","headers":{"__proto__":{"isAdmin":true}},"__proto__":{"isAdmin":true}}}`,
      });
      expect(res.statusCode).toBe(400);
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    });
  });

  it('SE-05: the secrets these tests offered appear in no log line', () => {
    const logs = hub.logLines.join('\n');
    for (const secret of [JWT_SECRET, 'cs-secret']) expect(logs, secret).not.toContain(secret);
  });
});
