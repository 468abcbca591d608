import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeInBrowser } from './peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import {
  apiClient,
  startListener,
  startServersHub,
  validationErrors,
  type ApiClient,
  type ApiResponse,
  type Listener,
  type ServersTestHub,
} from './support/servers-hub.js';
import type { CredentialRecord } from '../src/store/index.js';

const PUBLIC_URL = 'http://127.0.0.1:39998';
const ROLES_WITH_SHARING = `
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: false } }
`;

type Who = 'alice' | 'bob' | 'carol';

/** A listener playing the attacker's host: it records what reaches it, and must hear no credential. */
interface Canary extends Listener {
  /** `METHOD path?query` of every request. */
  readonly lines: string[];
  /** Every `Authorization` header it received. */
  readonly authorizations: string[];
  /** Everything it received (lines, headers and bodies), for greps of secrets. */
  heard(): string;
}

async function startCanary(
  answer: (req: IncomingMessage, res: ServerResponse, self: string) => void,
): Promise<Canary> {
  const lines: string[] = [];
  const authorizations: string[] = [];
  const seen: string[] = [];
  let self = '';
  const listener = await startListener((req, res) => {
    lines.push(`${req.method ?? ''} ${req.url ?? ''}`);
    if (req.headers.authorization !== undefined) authorizations.push(req.headers.authorization);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push(
        `${req.method ?? ''} ${req.url ?? ''}`,
        JSON.stringify(req.headers),
        Buffer.concat(chunks).toString(),
      );
      answer(req, res, self);
    });
  });
  self = `http://127.0.0.1:${listener.port}`;
  return Object.assign(listener, { lines, authorizations, heard: () => seen.join('\n') });
}

/** An OAuth-protected resource on the attacker's host: its metadata names the real AS, every call is a 401. */
const protectedResource =
  (issuer: string) =>
  (req: IncomingMessage, res: ServerResponse, self: string): void => {
    if (req.url?.startsWith('/.well-known/oauth-protected-resource')) {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ resource: `${self}/mcp`, authorization_servers: [issuer] }));
      return;
    }
    res
      .writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer resource_metadata="${self}/.well-known/oauth-protected-resource/mcp"`,
      })
      .end('{}');
  };

/** A keyed server on the attacker's host: 401 without a challenge, as a server wanting an API key answers. */
const keyedServer = (_req: IncomingMessage, res: ServerResponse): void => {
  res.writeHead(401, { 'content-type': 'application/json' }).end('{}');
};

describe('credentials are sent only to the destination they were given for', () => {
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let probe: ProbeServer;
  let hub: ServersTestHub;
  let api: ApiClient;
  const tokens: Record<Who, string> = { alice: '', bob: '', carol: '' };
  const ids: Record<Who, string> = { alice: '', bob: '', carol: '' };
  const canaries: Canary[] = [];

  beforeAll(async () => {
    as = await startAuthorizationServer();
    [mcp, probe] = await Promise.all([startProtectedMcpServer(as), startProbeServer()]);
    hub = await startServersHub({
      env: { PUBLIC_URL },
      yaml: `mcpSettings:\n  allowedDomains: ['127.0.0.1']\n${ROLES_WITH_SHARING}`,
    });
    api = apiClient(hub.app);
    for (const who of ['alice', 'bob', 'carol'] as const) {
      tokens[who] = await hub.userToken(`${who}@example.com`);
      ids[who] = (await hub.repos.users.findByEmail(`${who}@example.com`))!.id;
    }
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await Promise.all([mcp?.stop(), probe?.stop(), ...canaries.map((c) => c.close())]);
    await as?.stop();
  });

  const canary = async (answer: Parameters<typeof startCanary>[0]): Promise<Canary> => {
    const started = await startCanary(answer);
    canaries.push(started);
    return started;
  };

  /** Alice creates the server and shares it: bob edits, carol uses. */
  async function sharedServer(config: Record<string, unknown>): Promise<string> {
    const created = await api.post('/api/mcp/servers', tokens.alice, { config });
    expect(created.statusCode, created.body).toBe(201);
    const name = created.json<{ serverName: string }>().serverName;
    const shared = await api.put(`/api/mcp/servers/${name}/permissions`, tokens.alice, {
      principals: [
        { type: 'user', email: 'bob@example.com', role: 'editor' },
        { type: 'user', email: 'carol@example.com', role: 'viewer' },
      ],
    });
    expect(shared.statusCode, shared.body).toBe(200);
    return name;
  }

  const call = (name: string, who: Who, tool = 'whoami', args: Record<string, unknown> = {}) =>
    api.post(`/api/mcp/${name}/tools/${tool}/call`, tokens[who], { arguments: args });
  const text = (res: ApiResponse): string =>
    res
      .json<{ content: Array<{ text?: string }> }>()
      .content.map((c) => c.text ?? '')
      .join('');

  /** The hub's 401 → the AS in a headless browser → the callback, in the browser the hub bound. */
  async function authorize(name: string, who: Who, account: 'alice' | 'bob'): Promise<void> {
    const first = await call(name, who);
    expect(first.statusCode, first.body).toBe(401);
    const { oauthUrl } = first.json<{ oauthUrl: string }>();
    const redirectUri = new URL(oauthUrl).searchParams.get('redirect_uri') ?? '';
    const { callbackUrl } = await authorizeInBrowser(oauthUrl, {
      loginHint: account,
      redirectUriPrefix: redirectUri,
    });
    const back = new URL(callbackUrl);
    const done = await hub.app.inject({
      method: 'GET',
      url: `${back.pathname}${back.search}`,
      headers: { cookie: first.cookies.map((c) => `${c.name}=${c.value}`).join('; ') },
    });
    expect(done.statusCode).toBe(302);
    expect(done.headers.location).toContain('/oauth/success');
  }

  const rowsOf = async (who: Who | 'system', name: string): Promise<CredentialRecord[]> => {
    const userId = who === 'system' ? 'system' : ids[who];
    const rows = (await hub.repos.credentials.listForUser(userId)).filter((r) => r.serverName === name);
    return (await Promise.all(rows.map((r) => hub.repos.credentials.get(r)))).filter(
      (r): r is CredentialRecord => r !== null,
    );
  };
  /** Writes a row back as it was: what another instance holding the old config might still write. */
  const restore = async (row: CredentialRecord): Promise<void> => {
    await hub.repos.credentials.put(row);
  };

  it("V-01: an editor who moves the URL of a shared OAuth server is refused; the owner's move deletes every user's tokens and the new host hears no token", async () => {
    const name = await sharedServer({ type: 'streamable-http', url: mcp.url, title: 'Vault' });
    await authorize(name, 'alice', 'alice');
    await authorize(name, 'carol', 'bob');
    expect(text(await call(name, 'alice'))).toBe('alice');
    expect(text(await call(name, 'carol'))).toBe('bob');
    const [carolsRow] = await rowsOf('carol', name);
    expect(carolsRow?.kind).toBe('oauth_tokens');
    const evil = await canary(protectedResource(as.issuer));
    const before = await hub.repos.servers.findByName(name);

    const moveByEditor = await api.patch(`/api/mcp/servers/${name}`, tokens.bob, {
      config: { type: 'streamable-http', url: evil.url, title: 'Vault' },
    });
    expect(moveByEditor.statusCode).toBe(403);
    expect(moveByEditor.json()).toMatchObject({ code: 'HUB_ERR_DESTINATION_OWNER_ONLY', fields: ['url'] });
    expect(await hub.repos.servers.findByName(name)).toEqual(before);
    expect(evil.hits).toBe(0);
    expect(text(await call(name, 'carol'))).toBe('bob');
    // The editor may still change what is not a destination.
    const retitled = await api.patch(`/api/mcp/servers/${name}`, tokens.bob, {
      config: { type: 'streamable-http', url: mcp.url, title: 'Vault', description: 'Team vault' },
    });
    expect(retitled.statusCode, retitled.body).toBe(200);
    expect(text(await call(name, 'alice'))).toBe('alice');

    // Bob begins an authorization of his own, for the server as it is now.
    expect((await call(name, 'bob')).statusCode).toBe(401);
    const bobsFlow = () =>
      api.get(`/api/mcp/oauth/status/${encodeURIComponent(`${ids.bob}:${name}`)}`, tokens.bob);
    expect((await bobsFlow()).json()).toMatchObject({ status: 'PENDING' });

    const moveByOwner = await api.patch(`/api/mcp/servers/${name}`, tokens.alice, {
      config: { type: 'streamable-http', url: evil.url, title: 'Vault' },
    });
    expect(moveByOwner.statusCode, moveByOwner.body).toBe(200);
    for (const who of ['alice', 'carol', 'system'] as const) expect(await rowsOf(who, name)).toEqual([]);
    // The pending flow was for the old destination: it was cancelled.
    const cancelled = await bobsFlow();
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ status: 'FAILED', error: 'cancelled' });

    for (const who of ['alice', 'carol'] as const) {
      const res = await call(name, who);
      expect(res.statusCode, res.body).toBe(401);
      // A new authorization, for the new resource: nothing carried over.
      expect(new URL(res.json<{ oauthUrl: string }>().oauthUrl).searchParams.get('resource')).toBe(evil.url);
    }
    const listing = await api.get('/api/mcp/tools', tokens.carol);
    expect(listing.json()).toMatchObject({ servers: { [name]: { authenticated: false } } });

    // A token row written after the move (a race, or an instance still on the old config) is
    // bound to the old destination: it reads as absent and goes nowhere.
    await restore(carolsRow!);
    expect((await call(name, 'carol')).statusCode).toBe(401);
    expect((await api.get('/api/mcp/tools', tokens.carol)).json()).toMatchObject({
      servers: { [name]: { authenticated: false } },
    });

    expect(evil.hits).toBeGreaterThan(0);
    expect(evil.authorizations).toEqual([]);
    for (const secret of as.mintedTokens()) expect(evil.heard()).not.toContain(secret);
  });

  it('V-01: an editor who moves a server with apiKey.source user and url ?k={{MCP_API_KEY}} is refused; after the owner’s move the new host receives no key', async () => {
    const keyed = (url: string) => ({
      type: 'streamable-http',
      url: `${url}?k={{MCP_API_KEY}}`,
      title: 'Keyed',
      apiKey: { source: 'user', authorization_type: 'bearer' },
    });
    const name = await sharedServer(keyed(probe.url));
    const keys: Record<'alice' | 'carol', string> = { alice: 'alice-key-4d1f2', carol: 'carol-key-9b7e3' };
    for (const who of ['alice', 'carol'] as const) {
      const set = await api.put(`/api/mcp/${name}/auth-values`, tokens[who], {
        values: { MCP_API_KEY: keys[who] },
      });
      expect(set.statusCode, set.body).toBe(200);
      expect((await call(name, who, 'echo', { message: 'hi' })).statusCode).toBe(200);
    }
    expect(probe.lastHeaders().some((h) => h.authorization === `Bearer ${keys.carol}`)).toBe(true);
    const [carolsRow] = await rowsOf('carol', name);
    const evil = await canary(keyedServer);

    const moveByEditor = await api.patch(`/api/mcp/servers/${name}`, tokens.bob, { config: keyed(evil.url) });
    expect(moveByEditor.statusCode).toBe(403);
    expect(moveByEditor.json()).toMatchObject({ code: 'HUB_ERR_DESTINATION_OWNER_ONLY', fields: ['url'] });
    expect(evil.hits).toBe(0);

    const moveByOwner = await api.patch(`/api/mcp/servers/${name}`, tokens.alice, {
      config: keyed(evil.url),
    });
    expect(moveByOwner.statusCode, moveByOwner.body).toBe(200);
    for (const who of ['alice', 'carol'] as const) {
      expect(await rowsOf(who, name)).toEqual([]);
      const res = await call(name, who, 'echo', { message: 'hi' });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_MISSING_USER_VARS' });
      const flags = await api.get(`/api/mcp/${name}/auth-values`, tokens[who]);
      expect(flags.json()).toMatchObject({ authValueFlags: { MCP_API_KEY: false } });
    }
    // A value written back for the old destination is not one for the new.
    await restore(carolsRow!);
    expect((await call(name, 'carol', 'echo', { message: 'hi' })).statusCode).toBe(400);

    expect(evil.authorizations).toEqual([]);
    for (const key of Object.values(keys)) expect(evil.heard()).not.toContain(key);
  });

  it('V-05: an editor who moves oauth.revocation_endpoint is refused; after the owner’s change a revoke sends no token and no client_secret to an endpoint of another issuer', async () => {
    const metadata = (await (await fetch(`${as.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      string
    >;
    const oauth = {
      authorization_url: metadata.authorization_endpoint,
      token_url: metadata.token_endpoint,
      revocation_endpoint: metadata.revocation_endpoint,
      scope: 'mcp:tools',
    };
    const config = (extra: Record<string, unknown>) => ({
      type: 'streamable-http',
      url: mcp.url,
      title: 'Ledger',
      oauth: { ...oauth, ...extra },
    });
    // The owner's pre-registered confidential client, for the callback the hub names.
    const name = await sharedServer(config({ client_id: 'not-yet' }));
    const started = await call(name, 'alice');
    const redirectUri = new URL(started.json<{ oauthUrl: string }>().oauthUrl).searchParams.get(
      'redirect_uri',
    );
    const registered = await fetch(metadata.registration_endpoint ?? `${as.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'mcp:tools',
      }),
    });
    const client = (await registered.json()) as { client_id: string; client_secret: string };
    const owned = { client_id: client.client_id, client_secret: client.client_secret };
    expect(
      (await api.patch(`/api/mcp/servers/${name}`, tokens.alice, { config: config(owned) })).statusCode,
    ).toBe(200);
    await authorize(name, 'alice', 'alice');
    await authorize(name, 'carol', 'bob');
    expect(text(await call(name, 'carol'))).toBe('bob');
    const [alicesRow] = await rowsOf('alice', name);
    const evil = await canary((_req, res) => res.writeHead(200).end());
    const evilRevocation = `http://127.0.0.1:${evil.port}/revoke`;
    const before = await hub.repos.servers.findByName(name);

    const byEditor = await api.patch(`/api/mcp/servers/${name}`, tokens.bob, {
      config: config({
        client_id: client.client_id,
        client_secret: '***',
        revocation_endpoint: evilRevocation,
      }),
    });
    expect(byEditor.statusCode).toBe(403);
    expect(byEditor.json()).toMatchObject({
      code: 'HUB_ERR_DESTINATION_OWNER_ONLY',
      fields: ['oauth.revocation_endpoint'],
    });
    expect(await hub.repos.servers.findByName(name)).toEqual(before);

    // The owner may move it, but the client secret is not carried to a new place unseen.
    const masked = await api.patch(`/api/mcp/servers/${name}`, tokens.alice, {
      config: config({
        client_id: client.client_id,
        client_secret: '***',
        revocation_endpoint: evilRevocation,
      }),
    });
    expect(masked.statusCode).toBe(400);
    expect(validationErrors(masked).map((e) => e.path)).toEqual(['config.oauth.client_secret']);
    const byOwner = await api.patch(`/api/mcp/servers/${name}`, tokens.alice, {
      config: config({ ...owned, revocation_endpoint: evilRevocation }),
    });
    expect(byOwner.statusCode, byOwner.body).toBe(200);
    for (const who of ['alice', 'carol'] as const) expect(await rowsOf(who, name)).toEqual([]);
    expect((await call(name, 'carol')).statusCode).toBe(401);

    // Carol authorizes again under the new config, then revokes: the revocation endpoint is not on
    // the token endpoint's origin, so nothing is sent there; her tokens are gone all the same.
    await authorize(name, 'carol', 'bob');
    expect(text(await call(name, 'carol'))).toBe('bob');
    const revoked = await api.post(`/api/mcp/${name}/disconnect?revoke=true`, tokens.carol);
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(await rowsOf('carol', name)).toEqual([]);
    // Alice's tokens of the earlier config (written back as a racing instance might) are not sent either.
    await restore(alicesRow!);
    expect((await api.post(`/api/mcp/${name}/disconnect?revoke=true`, tokens.alice)).statusCode).toBe(200);
    expect(await rowsOf('alice', name)).toEqual([]);

    expect(evil.hits).toBe(0);
    expect(evil.heard()).not.toContain(client.client_secret);
    for (const secret of as.mintedTokens()) expect(evil.heard()).not.toContain(secret);
  });

  it('V-15: sharedOAuth in user input is refused with a 400 naming the field, on create and on update', async () => {
    const base = { type: 'streamable-http', url: probe.url, title: 'Everyone' };
    const created = await api.post('/api/mcp/servers', tokens.alice, {
      config: { ...base, sharedOAuth: true },
    });
    expect(created.statusCode).toBe(400);
    expect(validationErrors(created)).toEqual([
      { path: 'config.sharedOAuth', message: expect.stringContaining('administrator') },
    ]);
    expect(await hub.repos.servers.findByName('everyone')).toBeNull();

    const name = (await api.post('/api/mcp/servers', tokens.alice, { config: base })).json<{
      serverName: string;
    }>().serverName;
    const updated = await api.patch(`/api/mcp/servers/${name}`, tokens.alice, {
      config: { ...base, sharedOAuth: false },
    });
    expect(updated.statusCode).toBe(400);
    expect(validationErrors(updated).map((e) => e.path)).toEqual(['config.sharedOAuth']);

    // A row saved before the refusal (where the flag never did anything) still reads back.
    const record = await hub.repos.servers.findByName(name);
    const document = record!.config as { config: Record<string, unknown> };
    await hub.repos.servers.update(name, {
      config: { ...record!.config, config: { ...document.config, sharedOAuth: true } },
    });
    const read = await api.get(`/api/mcp/servers/${name}`, tokens.alice);
    expect(read.statusCode).toBe(200);
    expect(read.json()).not.toHaveProperty('sharedOAuth');
  });
});
