import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { authorizeInBrowser, CookieJar } from './peers/headless-browser.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startTestHub, type TestHub } from './support/hub.js';

const PUBLIC_URL = 'http://127.0.0.1:39999';
const CALLBACK_PREFIX = `${PUBLIC_URL}/api/mcp/secure/oauth/callback`;

import type { InjectOptions, LightMyRequestResponse } from 'fastify';

type Injected = LightMyRequestResponse;

/** Issue 4 end to end: a real AS (oidc-provider), a JWT-protected MCP server, the hub in between. */
describe('per-user OAuth through the hub', () => {
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let hub: TestHub;
  let alice: string;
  let bob: string;
  const bodies: string[] = [];

  /** Cookies the hub set on a response, as a Cookie header value. */
  function* mintedStates(): Generator<string> {
    for (const body of bodies) {
      for (const match of body.matchAll(/[?&]state=([A-Za-z0-9_-]{20,})/g)) yield match[1]!;
    }
  }
  const cookiesOf = (res: Injected): string => res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');

  async function inject(options: InjectOptions): Promise<Injected> {
    const res = await hub.app.inject(options);
    bodies.push(res.body, JSON.stringify(res.headers));
    return res;
  }
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const callWhoami = (token: string, query = '', cookie?: string) =>
    inject({
      method: 'POST',
      url: `/api/mcp/secure/tools/whoami/call${query}`,
      headers: { ...auth(token), ...(cookie ? { cookie } : {}) },
      payload: { arguments: {} },
    });
  const text = (res: Injected) => res.json<{ content: Array<{ text: string }> }>().content[0]!.text;

  /** Follows a callback URL (from the AS) into the hub with the given browser cookies. */
  const callback = (callbackUrl: string, cookie: string) => {
    const url = new URL(callbackUrl);
    return inject({ method: 'GET', url: `${url.pathname}${url.search}`, headers: cookie ? { cookie } : {} });
  };

  /** Runs the whole browser part for a user: 401 → AS login → callback with that browser's cookies. */
  async function authorize(token: string, loginHint: 'alice' | 'bob'): Promise<Injected> {
    const first = await callWhoami(token);
    expect(first.statusCode).toBe(401);
    const { oauthUrl } = first.json<{ oauthUrl: string }>();
    const { callbackUrl } = await authorizeInBrowser(oauthUrl, {
      loginHint,
      redirectUriPrefix: CALLBACK_PREFIX,
    });
    return callback(callbackUrl, cookiesOf(first));
  }

  beforeAll(async () => {
    as = await startAuthorizationServer({ accessTokenTtlSeconds: 3 });
    mcp = await startProtectedMcpServer(as);
    hub = await startTestHub({
      env: { PUBLIC_URL },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  secure:
    type: streamable-http
    url: ${mcp.url}
    requiresOAuth: true
  team:
    type: streamable-http
    url: ${mcp.url}
    requiresOAuth: true
    sharedOAuth: true
  learned:
    type: streamable-http
    url: ${mcp.url}
`,
    });
    [alice, bob] = await Promise.all([hub.userToken('alice@example.com'), hub.userToken('bob@example.com')]);
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await mcp?.stop();
    await as?.stop();
  });

  it('a tool call before authorization answers 401 with oauthUrl and flowId, and sets the binding cookie', async () => {
    const res = await callWhoami(alice);
    expect(res.statusCode).toBe(401);
    const body = res.json<{ oauthRequired: boolean; oauthUrl: string; flowId: string }>();
    expect(body.oauthRequired).toBe(true);
    expect(body.flowId).toMatch(/:secure$/);
    const url = new URL(body.oauthUrl);
    expect(url.origin).toBe(as.issuer);
    // OA-11: PKCE S256, resource, a long state, and the hub's own redirect URI.
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('resource')).toBe(mcp.url);
    expect(url.searchParams.get('redirect_uri')).toBe(CALLBACK_PREFIX);
    expect(url.searchParams.get('state')!.length).toBeGreaterThanOrEqual(43);
    const binding = res.cookies.find((c) => c.name === 'sb_oauth_secure');
    expect(binding).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/api/mcp' });
  });

  it('alice and bob each connect and each whoami returns their own subject', async () => {
    const a = await authorize(alice, 'alice');
    expect(a.statusCode).toBe(302);
    expect(a.headers.location).toBe(`${PUBLIC_URL}/oauth/success?serverName=secure`);
    const b = await authorize(bob, 'bob');
    expect(b.headers.location).toBe(`${PUBLIC_URL}/oauth/success?serverName=secure`);
    expect(text(await callWhoami(alice))).toBe('alice');
    expect(text(await callWhoami(bob))).toBe('bob');
    const status = await inject({
      method: 'GET',
      url: '/api/mcp/connection/status/secure',
      headers: auth(alice),
    });
    expect(status.json()).toMatchObject({ connectionStatus: 'connected', requiresOAuth: true });
  });

  it('the tokens route shows metadata only', async () => {
    const flowId = `${(await hub.repos.users.findByEmail('alice@example.com'))!.id}:secure`;
    const res = await inject({
      method: 'GET',
      url: `/api/mcp/oauth/tokens/${encodeURIComponent(flowId)}`,
      headers: auth(alice),
    });
    expect(res.statusCode).toBe(200);
    const { tokens } = res.json<{ tokens: Record<string, unknown> }>();
    expect(Object.keys(tokens).sort()).toEqual(['expires_at', 'scope', 'token_type']);
    const other = await inject({
      method: 'GET',
      url: `/api/mcp/oauth/tokens/${encodeURIComponent(flowId)}`,
      headers: auth(bob),
    });
    expect(other.statusCode).toBe(403);
    expect(other.json()).toMatchObject({ error: 'Access denied' });
  });

  it('refresh works after expiry (rotating refresh tokens), without a new login', async () => {
    const before = as.counts.refreshTokenGrants;
    await new Promise((r) => setTimeout(r, 3500));
    const res = await callWhoami(alice);
    expect(res.statusCode).toBe(200);
    expect(text(res)).toBe('alice');
    expect(as.counts.refreshTokenGrants).toBeGreaterThan(before);
    // And once more after the rotated token expires: rotation never locks the user out.
    await new Promise((r) => setTimeout(r, 3500));
    expect(text(await callWhoami(alice))).toBe('alice');
  });

  describe('attacks', () => {
    it("OA-03: bob's browser completing alice's authorization → csrf_validation_failed, nothing stored", async () => {
      const carol = await hub.userToken('carol@example.com');
      const started = await callWhoami(carol);
      const { oauthUrl } = started.json<{ oauthUrl: string }>();
      const grants = as.counts.authorizationCodeGrants;
      // The victim's consent happens, but the callback arrives from the attacker's browser with bob's binding.
      const bobsBrowser = await inject({
        method: 'POST',
        url: '/api/mcp/secure/oauth/bind',
        headers: auth(bob),
      });
      expect(bobsBrowser.cookies.map((c) => c.name)).toEqual(['sb_oauth_secure']);
      const { callbackUrl } = await authorizeInBrowser(oauthUrl, {
        loginHint: 'alice',
        redirectUriPrefix: CALLBACK_PREFIX,
        jar: new CookieJar(),
      });
      const res = await callback(callbackUrl, cookiesOf(bobsBrowser));
      expect(res.headers.location).toBe(`${PUBLIC_URL}/oauth/error?error=csrf_validation_failed`);
      expect(as.counts.authorizationCodeGrants).toBe(grants);
      const carolId = (await hub.repos.users.findByEmail('carol@example.com'))!.id;
      expect(await hub.repos.credentials.listForUser(carolId)).toEqual([]);
      // The flow is still pending for its owner.
      const status = await inject({
        method: 'GET',
        url: `/api/mcp/oauth/status/${encodeURIComponent(`${carolId}:secure`)}`,
        headers: auth(carol),
      });
      expect(status.json()).toMatchObject({ status: 'PENDING' });
    });

    it('a replayed state → invalid_state, and the token endpoint was called exactly once', async () => {
      const dave = await hub.userToken('dave@example.com');
      const first = await callWhoami(dave);
      const { callbackUrl } = await authorizeInBrowser(first.json<{ oauthUrl: string }>().oauthUrl, {
        loginHint: 'bob',
        redirectUriPrefix: CALLBACK_PREFIX,
      });
      const grants = as.counts.authorizationCodeGrants;
      const ok = await callback(callbackUrl, cookiesOf(first));
      expect(ok.headers.location).toContain('/oauth/success');
      const replay = await callback(callbackUrl, cookiesOf(first));
      expect(replay.headers.location).toBe(`${PUBLIC_URL}/oauth/error?error=invalid_state`);
      expect(as.counts.authorizationCodeGrants).toBe(grants + 1);
    });

    it('an unknown state → invalid_state and no token request; no state or code → their own errors', async () => {
      const grants = as.counts.authorizationCodeGrants + as.counts.failedGrants;
      const unknown = await inject({
        method: 'GET',
        url: '/api/mcp/secure/oauth/callback?code=abc&state=' + 'x'.repeat(43),
      });
      expect(unknown.headers.location).toBe(`${PUBLIC_URL}/oauth/error?error=invalid_state`);
      const noState = await inject({ method: 'GET', url: '/api/mcp/secure/oauth/callback?code=abc' });
      expect(noState.headers.location).toBe(`${PUBLIC_URL}/oauth/error?error=missing_state`);
      expect(as.counts.authorizationCodeGrants + as.counts.failedGrants).toBe(grants);
    });

    it('OA-08/OA-22: the error page escapes what it shows and is not cached', async () => {
      const res = await inject({
        method: 'GET',
        url: '/oauth/error?error=%3Cscript%3Ealert(1)%3C/script%3E',
      });
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain('<script>');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    });
  });

  it('?wait=N waits for a pending authorization and then runs the call', async () => {
    const erin = await hub.userToken('erin@example.com');
    const first = await callWhoami(erin);
    const { oauthUrl } = first.json<{ oauthUrl: string }>();
    const waiting = callWhoami(erin, '?wait=20');
    await new Promise((r) => setTimeout(r, 200));
    const { callbackUrl } = await authorizeInBrowser(oauthUrl, {
      loginHint: 'bob',
      redirectUriPrefix: CALLBACK_PREFIX,
    });
    expect((await callback(callbackUrl, cookiesOf(first))).headers.location).toContain('/oauth/success');
    const res = await waiting;
    expect(res.statusCode).toBe(200);
    expect(text(res)).toBe('bob');
  });

  it('reinitialize answers with an oauthUrl when authorization is needed', async () => {
    const frank = await hub.userToken('frank@example.com');
    const res = await inject({ method: 'POST', url: '/api/mcp/secure/reinitialize', headers: auth(frank) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      success: true,
      oauthRequired: true,
      serverName: 'secure',
      message: "MCP server 'secure' ready for OAuth authentication",
    });
    expect(res.json<{ oauthUrl: string }>().oauthUrl).toContain(as.issuer);
    expect(res.cookies.some((c) => c.name === 'sb_oauth_secure')).toBe(true);
  });

  it('disconnect?revoke=true revokes at the AS and deletes the tokens', async () => {
    const revocations = as.counts.revocations;
    const res = await inject({
      method: 'POST',
      url: '/api/mcp/secure/disconnect?revoke=true',
      headers: auth(bob),
    });
    expect(res.statusCode).toBe(200);
    expect(as.counts.revocations).toBeGreaterThan(revocations);
    const again = await callWhoami(bob);
    expect(again.statusCode).toBe(401);
    expect(again.json()).toMatchObject({ oauthRequired: true });
  });

  describe('a shared authorization (sharedOAuth: an admin authorizes once for everyone)', () => {
    const callTeam = (token: string) =>
      inject({
        method: 'POST',
        url: '/api/mcp/team/tools/whoami/call',
        headers: auth(token),
        payload: { arguments: {} },
      });

    it('a user cannot start it: 403, no flow', async () => {
      const res = await callTeam(bob);
      expect(res.statusCode).toBe(403);
      expect(res.json<{ error: string }>().error).toContain('administrator');
    });

    it('an admin authorizes it once; every user then calls through it with the shared token', async () => {
      const admin = await hub.userToken('root@example.com', 'ADMIN');
      const reinit = await inject({
        method: 'POST',
        url: '/api/mcp/team/reinitialize',
        headers: auth(admin),
      });
      expect(reinit.json()).toMatchObject({ oauthRequired: true, serverName: 'team' });
      const { callbackUrl } = await authorizeInBrowser(reinit.json<{ oauthUrl: string }>().oauthUrl, {
        loginHint: 'alice',
        redirectUriPrefix: `${PUBLIC_URL}/api/mcp/team/oauth/callback`,
      });
      const done = await callback(callbackUrl, cookiesOf(reinit));
      expect(done.headers.location).toBe(`${PUBLIC_URL}/oauth/success?serverName=team`);
      for (const token of [bob, alice]) {
        const res = await callTeam(token);
        expect(res.statusCode).toBe(200);
        expect(text(res)).toBe('alice');
      }
      // The shared flow is the admins' to see, not the users'.
      const status = await inject({
        method: 'GET',
        url: '/api/mcp/oauth/status/system%3Ateam',
        headers: auth(bob),
      });
      expect(status.statusCode).toBe(403);
      const adminStatus = await inject({
        method: 'GET',
        url: '/api/mcp/oauth/status/system%3Ateam',
        headers: auth(admin),
      });
      expect(adminStatus.json()).toMatchObject({ status: 'COMPLETED' });
    });
  });

  it('a server whose config says nothing of OAuth is recognised by its 401 challenge and authorized per user', async () => {
    await hub.startup.firstPass;
    const res = await inject({
      method: 'POST',
      url: '/api/mcp/learned/tools/whoami/call',
      headers: auth(alice),
      payload: { arguments: {} },
    });
    expect(res.statusCode).toBe(401);
    const { oauthUrl } = res.json<{ oauthUrl: string }>();
    expect(new URL(oauthUrl).searchParams.get('resource')).toBe(mcp.url);
    const status = await inject({
      method: 'GET',
      url: '/api/mcp/connection/status/learned',
      headers: auth(alice),
    });
    expect(status.json()).toMatchObject({ requiresOAuth: true });
    const { callbackUrl } = await authorizeInBrowser(oauthUrl, {
      loginHint: 'alice',
      redirectUriPrefix: `${PUBLIC_URL}/api/mcp/learned/oauth/callback`,
    });
    expect((await callback(callbackUrl, cookiesOf(res))).headers.location).toContain('/oauth/success');
    const again = await inject({
      method: 'POST',
      url: '/api/mcp/learned/tools/whoami/call',
      headers: auth(alice),
      payload: { arguments: {} },
    });
    expect(text(again)).toBe('alice');
  });

  it('deployment under a path: redirect URI, callback redirects and cookie paths carry the prefix', async () => {
    const prefixed = await startTestHub({
      env: { PUBLIC_URL: 'https://hub.example/switchboard' },
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
    try {
      const token = await prefixed.userToken('gina@example.com');
      const res = await prefixed.app.inject({
        method: 'POST',
        url: '/api/mcp/secure/tools/whoami/call',
        headers: auth(token),
        payload: { arguments: {} },
      });
      expect(res.statusCode).toBe(401);
      const oauthUrl = new URL(res.json<{ oauthUrl: string }>().oauthUrl);
      expect(oauthUrl.searchParams.get('redirect_uri')).toBe(
        'https://hub.example/switchboard/api/mcp/secure/oauth/callback',
      );
      expect(res.cookies.find((c) => c.name === 'sb_oauth_secure')).toMatchObject({
        path: '/switchboard/api/mcp',
        secure: true,
      });
      const failed = await prefixed.app.inject({
        method: 'GET',
        url: '/api/mcp/secure/oauth/callback?code=x',
      });
      expect(failed.headers.location).toBe('https://hub.example/switchboard/oauth/error?error=missing_state');
    } finally {
      await prefixed.dispose();
    }
  });

  it('SE-01/SE-05: no token or code the AS minted appears in logs, responses or database rows', async () => {
    // The states the hub minted (inside every oauthUrl it returned) are secrets too.
    const states = [...mintedStates()];
    expect(states.length).toBeGreaterThan(3);
    const minted = as.mintedTokens();
    expect(minted.length).toBeGreaterThan(5);
    const logs = hub.logLines.join('\n');
    const responses = bodies.join('\n');
    const rows: string[] = [];
    for (const email of ['alice@example.com', 'bob@example.com', 'dave@example.com', 'erin@example.com']) {
      const user = await hub.repos.users.findByEmail(email);
      for (const meta of await hub.repos.credentials.listForUser(user!.id)) {
        const row = await hub.repos.credentials.get(meta);
        rows.push(JSON.stringify(row));
      }
    }
    expect(rows.length).toBeGreaterThan(0);
    const stored = rows.join('\n');
    // A state is handed to the caller inside oauthUrl by design, but is never logged or stored in clear.
    for (const state of states) {
      expect(logs.includes(state), 'a state is in the logs').toBe(false);
      expect(stored.includes(state), 'a state is stored in clear').toBe(false);
    }
    for (const secret of minted) {
      expect(logs.includes(secret), 'a minted secret is in the logs').toBe(false);
      expect(responses.includes(secret), 'a minted secret is in a response').toBe(false);
      expect(stored.includes(secret), 'a minted secret is stored in clear').toBe(false);
    }
  });
});

describe('OAuth client metadata document (CIMD)', () => {
  it('is served under PUBLIC_URL with each configured server’s callback and the shared one', async () => {
    const hub = await startTestHub({
      env: {
        PUBLIC_URL: 'https://hub.example/sb',
        OAUTH_CLIENT_METADATA_URL: 'https://hub.example/sb/oauth/client-metadata.json',
      },
      yaml: 'mcpServers:\n  remote:\n    type: streamable-http\n    url: https://mcp.example/mcp\n    startup: false\n',
    });
    try {
      const res = await hub.app.inject({ method: 'GET', url: '/oauth/client-metadata.json' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        client_id: 'https://hub.example/sb/oauth/client-metadata.json',
        // Servers of the configuration file by name; users' servers share one path that names none.
        redirect_uris: [
          'https://hub.example/sb/api/mcp/remote/oauth/callback',
          'https://hub.example/sb/api/mcp/oauth/callback',
        ],
        token_endpoint_auth_method: 'none',
      });
    } finally {
      await hub.dispose();
    }
  });

  it('a metadata URL that is not https stops the hub at start', async () => {
    await expect(
      startTestHub({ env: { OAUTH_CLIENT_METADATA_URL: 'http://hub.example/client.json' } }),
    ).rejects.toMatchObject({ code: 'HUB_ERR_CONFIG_INVALID' });
  });
});

describe('returning users', () => {
  it('after a while away, the first request reconnects their authorized servers in the background', async () => {
    const as = await startAuthorizationServer({ accessTokenTtlSeconds: 3600 });
    const mcp = await startProtectedMcpServer(as);
    let offset = 0;
    const hub = await startTestHub({
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
    try {
      const token = await hub.userToken('ruth@example.com');
      const headers = { authorization: `Bearer ${token}` };
      const first = await hub.app.inject({
        method: 'POST',
        url: '/api/mcp/secure/tools/whoami/call',
        headers,
        payload: { arguments: {} },
      });
      const { callbackUrl } = await authorizeInBrowser(first.json<{ oauthUrl: string }>().oauthUrl, {
        loginHint: 'bob',
        redirectUriPrefix: CALLBACK_PREFIX,
      });
      const cb = new URL(callbackUrl);
      const cookie = first.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
      await hub.app.inject({ method: 'GET', url: `${cb.pathname}${cb.search}`, headers: { cookie } });
      const status = async () =>
        (await hub.app.inject({ method: 'GET', url: '/api/mcp/connection/status/secure', headers })).json<{
          connectionStatus: string;
        }>().connectionStatus;
      // The callback reconnects in the background.
      for (let i = 0; i < 50 && (await status()) !== 'connected'; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(await status()).toBe('connected');
      await hub.app.inject({ method: 'POST', url: '/api/mcp/secure/disconnect', headers });
      expect(await status()).toBe('disconnected');
      // Status reads never connect: still disconnected a moment later.
      await new Promise((r) => setTimeout(r, 300));
      expect(await status()).toBe('disconnected');
      // Eleven minutes later the user is back: their first request brings the server up again.
      offset += 11 * 60_000;
      await hub.app.inject({ method: 'GET', url: '/api/auth/me', headers });
      for (let i = 0; i < 50 && (await status()) !== 'connected'; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(await status()).toBe('connected');
    } finally {
      await hub.dispose();
      await mcp.stop();
      await as.stop();
    }
  });
});
