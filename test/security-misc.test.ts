import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeInBrowser } from './peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { apiClient, startServersHub, type ApiClient, type ServersTestHub } from './support/servers-hub.js';

type Injected = LightMyRequestResponse;

const cookiesOf = (res: Injected): string => res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
const cookieValue = (res: Injected, name: string): string => {
  const value = res.cookies.find((c) => c.name === name)?.value;
  expect(value, `cookie ${name}`).toBeTypeOf('string');
  return value ?? '';
};

/** The structure of a JSON value: keys and value types, with every string and number made equal. */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, shapeOf(v)]),
    );
  }
  return typeof value;
}

/** Users' servers: placeholders, sharing. A probe server records what reaches it. */
describe('users’ servers: placeholders and sharing', () => {
  let probe: ProbeServer;
  let hub: ServersTestHub;
  let api: ApiClient;
  let alice: string;

  beforeAll(async () => {
    probe = await startProbeServer();
    hub = await startServersHub({
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1:${new URL(probe.url).port}']
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: false } }
`,
    });
    api = apiClient(hub.app);
    alice = await hub.userToken('alice@example.com');
    await hub.userToken('bob@example.com');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await probe?.stop();
  });

  const create = async (title: string, headers: Record<string, string> = {}): Promise<string> => {
    const res = await api.post('/api/mcp/servers', alice, {
      config: { type: 'streamable-http', url: probe.url, title, headers },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ serverName: string }>().serverName;
  };

  it('V-07: {{constructor}} and {{hasOwnProperty}} in a header stay literal: no [object Object], no 500', async () => {
    const name = await create('Prototype Names', {
      'X-Ctor': 'a{{constructor}}b',
      'X-Own': '{{hasOwnProperty}}',
      'X-Str': '{{toString}}',
    });
    const before = probe.recent().length;
    const res = await api.post(`/api/mcp/${name}/tools/echo/call`, alice, { arguments: { message: 'hi' } });
    expect(res.statusCode, res.body).toBe(200);
    const seen = probe.recent().slice(before);
    expect(seen.length).toBeGreaterThan(0);
    for (const request of seen) {
      expect(request.headers['x-ctor']).toBe('a{{constructor}}b');
      expect(request.headers['x-own']).toBe('{{hasOwnProperty}}');
      expect(request.headers['x-str']).toBe('{{toString}}');
    }
    expect(JSON.stringify(seen)).not.toContain('[object Object]');
  });

  it('V-13: a PUT naming an address with an account and one without answer alike (status and shape)', async () => {
    const name = await create('Enumeration Target');
    const put = (email: string) =>
      api.put(`/api/mcp/servers/${name}/permissions`, alice, {
        principals: [{ type: 'user', email, role: 'viewer' }],
      });
    const known = await put('bob@example.com');
    const unknown = await put('nobody-here@example.com');
    expect(unknown.statusCode).toBe(known.statusCode);
    expect(known.statusCode).toBe(200);
    expect(shapeOf(unknown.json())).toEqual(shapeOf(known.json()));
    // Only the address typed differs; nothing says whether it has an account.
    expect(unknown.body.replace('nobody-here@example.com', 'bob@example.com')).toBe(known.body);
    await put('bob@example.com');
    const knownGet = await api.get(`/api/mcp/servers/${name}/permissions`, alice);
    await put('nobody-here@example.com');
    const unknownGet = await api.get(`/api/mcp/servers/${name}/permissions`, alice);
    expect(unknownGet.body.replace('nobody-here@example.com', 'bob@example.com')).toBe(knownGet.body);

    // Mixed in one list, the order is the order of the addresses, not of which have accounts.
    const mixed = await api.put(`/api/mcp/servers/${name}/permissions`, alice, {
      principals: [
        { type: 'user', email: 'zed-nobody@example.com', role: 'viewer' },
        { type: 'user', email: 'bob@example.com', role: 'viewer' },
        { type: 'user', email: 'amy-nobody@example.com', role: 'editor' },
      ],
    });
    expect(mixed.statusCode).toBe(200);
    expect(mixed.json<{ principals: Array<{ email: string }> }>().principals.map((p) => p.email)).toEqual([
      'alice@example.com',
      'amy-nobody@example.com',
      'bob@example.com',
      'zed-nobody@example.com',
    ]);

    // An address without an account grants nothing, even once someone signs up with it.
    const late = await hub.userToken('amy-nobody@example.com');
    expect((await api.get(`/api/mcp/servers/${name}`, late)).statusCode).toBe(404);
    // bob (granted while his account existed) uses it.
    const bob = await hub.userToken('bob@example.com');
    expect((await api.get(`/api/mcp/servers/${name}`, bob)).statusCode).toBe(200);
  });

  it('V-14: a grant to a group id that does not exist is a 400 that names it; a real one is kept', async () => {
    const name = await create('Group Grants');
    const ghost = await api.put(`/api/mcp/servers/${name}/permissions`, alice, {
      principals: [
        { type: 'group', id: 'ghost-group-id', role: 'viewer' },
        { type: 'group', id: 'another-missing-id', role: 'editor' },
      ],
    });
    expect(ghost.statusCode).toBe(400);
    expect(ghost.json()).toMatchObject({
      errors: [
        { path: 'principals[0]', message: expect.stringContaining('ghost-group-id') as unknown },
        { path: 'principals[1]', message: expect.stringContaining('another-missing-id') as unknown },
      ],
    });
    const nothing = await api.get(`/api/mcp/servers/${name}/permissions`, alice);
    expect(nothing.json<{ principals: unknown[] }>().principals).toHaveLength(1);

    const group = await hub.repos.groups.create('real-team');
    const real = await api.put(`/api/mcp/servers/${name}/permissions`, alice, {
      principals: [{ type: 'group', id: group.id, role: 'viewer' }],
    });
    expect(real.statusCode, real.body).toBe(200);
    expect(real.json()).toMatchObject({ principals: [{ role: 'owner' }, { type: 'group', id: group.id }] });
  });
});

/** What anyone can read without credentials names no user-created server. */
describe('unauthenticated output', () => {
  let probe: ProbeServer;
  let hub: ServersTestHub;

  beforeAll(async () => {
    probe = await startProbeServer();
    hub = await startServersHub({
      env: {
        PUBLIC_URL: 'https://hub.example',
        OAUTH_CLIENT_METADATA_URL: 'https://hub.example/oauth/client-metadata.json',
      },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1:${new URL(probe.url).port}']
mcpServers:
  admin-probe:
    type: streamable-http
    url: ${probe.url}
`,
    });
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await probe?.stop();
  });

  it('V-09: a private user server’s name and id appear nowhere in GET /metrics or the client metadata document', async () => {
    await hub.startup.firstPass;
    const api = apiClient(hub.app);
    const alice = await hub.userToken('alice@example.com');
    const created = await api.post('/api/mcp/servers', alice, {
      config: { type: 'streamable-http', url: probe.url, title: 'Nightingale Acquisition' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const name = created.json<{ serverName: string }>().serverName;
    const id = (await hub.repos.servers.findByName(name))?.id ?? '';
    expect(id).not.toBe('');
    // A connection to it is made and counted.
    const call = await api.post(`/api/mcp/${name}/tools/echo/call`, alice, { arguments: { message: 'x' } });
    expect(call.statusCode, call.body).toBe(200);

    const metrics = await hub.app.inject({ method: 'GET', url: '/metrics' });
    const document = await hub.app.inject({ method: 'GET', url: '/oauth/client-metadata.json' });
    expect(metrics.statusCode).toBe(200);
    expect(document.statusCode).toBe(200);
    for (const body of [metrics.body, document.body]) {
      expect(body.toLowerCase()).not.toContain('nightingale');
      expect(body).not.toContain(name);
      expect(body).not.toContain(id);
    }
    // The connection is still counted, under the one label all users' servers share; the
    // configured server keeps its name, and the document lists its callback and the shared one.
    expect(metrics.body).toMatch(
      /switchboard_upstream_connects_total\{server="_user_servers",outcome="connected"\} 1/,
    );
    expect(metrics.body).toContain('server="admin-probe"');
    expect(document.json()).toMatchObject({
      redirect_uris: [
        'https://hub.example/api/mcp/admin-probe/oauth/callback',
        'https://hub.example/api/mcp/oauth/callback',
      ],
    });
  });
});

/** The OAuth callback and the browser cookies, with a real AS and a JWT-protected MCP server. */
describe('OAuth callback paths and browser cookies', () => {
  const PUBLIC_URL = 'http://127.0.0.1:39997';
  const SHARED = `${PUBLIC_URL}/api/mcp/oauth/callback`;
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let offset = 0;
  let hub: ServersTestHub;

  const deliver = (callbackUrl: string, path: string, cookie: string) => {
    const url = new URL(callbackUrl);
    return hub.app.inject({ method: 'GET', url: `${path}${url.search}`, headers: cookie ? { cookie } : {} });
  };
  const callTool = (server: string, token: string) =>
    hub.app.inject({
      method: 'POST',
      url: `/api/mcp/${server}/tools/whoami/call`,
      headers: { authorization: `Bearer ${token}` },
      payload: { arguments: {} },
    });

  beforeAll(async () => {
    as = await startAuthorizationServer({ accessTokenTtlSeconds: 3600 });
    mcp = await startProtectedMcpServer(as);
    hub = await startServersHub({
      clock: { now: () => Date.now() + offset },
      env: { PUBLIC_URL },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  secure:
    type: streamable-http
    url: ${mcp.url}
    requiresOAuth: true
`,
    });
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await mcp?.stop();
    await as?.stop();
  });

  it('V-09: a user server’s flow uses the shared callback path (naming no server) and completes only there (OA-15)', async () => {
    const alice = await hub.userToken('alice@example.com');
    const created = await apiClient(hub.app).post('/api/mcp/servers', alice, {
      config: { type: 'streamable-http', url: mcp.url, title: 'Skunkworks' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const name = created.json<{ serverName: string }>().serverName;
    const first = await callTool(name, alice);
    expect(first.statusCode, first.body).toBe(401);
    const oauthUrl = new URL(first.json<{ oauthUrl: string }>().oauthUrl);
    expect(oauthUrl.searchParams.get('redirect_uri')).toBe(SHARED);
    const { callbackUrl } = await authorizeInBrowser(oauthUrl.href, {
      loginHint: 'alice',
      redirectUriPrefix: SHARED,
    });
    const grants = as.counts.authorizationCodeGrants;
    // Its state at a server's own path (its own name, or a configured server's) is refused, unspent.
    for (const path of [`/api/mcp/${name}/oauth/callback`, '/api/mcp/secure/oauth/callback']) {
      const wrong = await deliver(callbackUrl, path, cookiesOf(first));
      expect(wrong.headers.location).toBe(`${PUBLIC_URL}/oauth/error?error=invalid_state`);
    }
    expect(as.counts.authorizationCodeGrants).toBe(grants);
    const done = await deliver(callbackUrl, '/api/mcp/oauth/callback', cookiesOf(first));
    expect(done.headers.location).toBe(`${PUBLIC_URL}/oauth/success?serverName=${name}`);
    expect(as.counts.authorizationCodeGrants).toBe(grants + 1);
    const again = await callTool(name, alice);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json<{ content: Array<{ text: string }> }>().content[0]?.text).toBe('alice');
  });

  it('V-09: a configured server keeps its own path; its state is refused at the shared one (OA-15)', async () => {
    const carol = await hub.userToken('carol@example.com');
    const first = await callTool('secure', carol);
    expect(first.statusCode).toBe(401);
    const named = `${PUBLIC_URL}/api/mcp/secure/oauth/callback`;
    const oauthUrl = first.json<{ oauthUrl: string }>().oauthUrl;
    expect(new URL(oauthUrl).searchParams.get('redirect_uri')).toBe(named);
    const { callbackUrl } = await authorizeInBrowser(oauthUrl, {
      loginHint: 'bob',
      redirectUriPrefix: named,
    });
    const grants = as.counts.authorizationCodeGrants;
    const wrong = await deliver(callbackUrl, '/api/mcp/oauth/callback', cookiesOf(first));
    expect(wrong.headers.location).toBe(`${PUBLIC_URL}/oauth/error?error=invalid_state`);
    expect(as.counts.authorizationCodeGrants).toBe(grants);
    const done = await deliver(callbackUrl, '/api/mcp/secure/oauth/callback', cookiesOf(first));
    expect(done.headers.location).toBe(`${PUBLIC_URL}/oauth/success?serverName=secure`);
  });

  describe('V-10: cookie values carry an expiry and a nonce', () => {
    let dave: string;
    let firstStart: Injected;

    it('V-10: two flows of the same user and server get different binding cookies', async () => {
      dave = await hub.userToken('dave@example.com');
      firstStart = await callTool('secure', dave);
      const secondStart = await callTool('secure', dave);
      expect(firstStart.statusCode).toBe(401);
      expect(secondStart.statusCode).toBe(401);
      expect(cookieValue(secondStart, 'sb_oauth_secure')).not.toBe(
        cookieValue(firstStart, 'sb_oauth_secure'),
      );
    });

    it('V-10: a captured binding cookie is refused once expired, though the browser would still send it', async () => {
      const oldBinding = `sb_oauth_secure=${cookieValue(firstStart, 'sb_oauth_secure')}`;
      // A day and a minute later (far past its 10 minutes), a new flow for the same user and server.
      offset += 24 * 60 * 60_000 + 60_000;
      dave = await hub.userToken('dave@example.com');
      const start = await callTool('secure', dave);
      expect(start.statusCode).toBe(401);
      const named = `${PUBLIC_URL}/api/mcp/secure/oauth/callback`;
      const { callbackUrl } = await authorizeInBrowser(start.json<{ oauthUrl: string }>().oauthUrl, {
        loginHint: 'bob',
        redirectUriPrefix: named,
      });
      const grants = as.counts.authorizationCodeGrants;
      const refused = await deliver(callbackUrl, '/api/mcp/secure/oauth/callback', oldBinding);
      expect(refused.headers.location).toBe(`${PUBLIC_URL}/oauth/error?error=csrf_validation_failed`);
      expect(as.counts.authorizationCodeGrants).toBe(grants);
      // The fresh cookie of this flow is accepted: the refusal was the expiry, nothing else.
      const done = await deliver(callbackUrl, '/api/mcp/secure/oauth/callback', cookiesOf(start));
      expect(done.headers.location).toBe(`${PUBLIC_URL}/oauth/success?serverName=secure`);
      expect(as.counts.authorizationCodeGrants).toBe(grants + 1);
    });
  });
});
