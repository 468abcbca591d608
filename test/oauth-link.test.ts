import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/auth/index.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { authorizeInBrowser, CookieJar } from './peers/headless-browser.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startTestHub, type TestHub } from './support/hub.js';

type Injected = LightMyRequestResponse;

const PUBLIC_URL = 'http://127.0.0.1:39998';
const LINK = new RegExp(`^${PUBLIC_URL}/api/mcp/oauth/link/([A-Za-z0-9_-]{43})$`);
const callbackPrefix = (server: string) => `${PUBLIC_URL}/api/mcp/${server}/oauth/callback`;

/** Headers a current browser sends when this page's own form is submitted (its referrer policy makes Origin null). */
const OWN_FORM = { 'sec-fetch-site': 'same-origin', origin: 'null' } as const;

/** Browser sign-in links for pending OAuth flows: `GET`/`POST /api/mcp/oauth/link/:ticket` (docs/oauth-browser-link.md). */
describe('browser sign-in links for OAuth flows', () => {
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let hub: TestHub;
  let offset = 0;
  const secrets: string[] = [];
  const passwords: Record<string, string> = {};
  const tokens: Record<string, string> = {};

  /** Makes a user with a Switchboard password (and a bearer token for the REST API). */
  async function user(name: string, role: 'USER' | 'ADMIN' = 'USER'): Promise<string> {
    const email = `${name}@example.com`;
    await hub.userToken(email, role);
    const record = (await hub.repos.users.findByEmail(email))!;
    passwords[name] = `pw-${name}-${'x'.repeat(12)}`;
    secrets.push(passwords[name]);
    await hub.repos.users.setPassword(record.id, await hashPassword(passwords[name]));
    // Setting a password ends the tokens issued before it (V-12): take the token after.
    const token = await hub.userToken(email, role);
    tokens[name] = token;
    return record.id;
  }

  const auth = (name: string) => ({ authorization: `Bearer ${tokens[name]!}` });
  const callTool = (name: string, server = 'secure') =>
    hub.app.inject({
      method: 'POST',
      url: `/api/mcp/${server}/tools/whoami/call`,
      headers: auth(name),
      payload: { arguments: {} },
    });
  const text = (res: Injected) => res.json<{ content: Array<{ text: string }> }>().content[0]!.text;

  /** What an MCP client gets: a pending flow (started by a tool call, as over REST) and its browser link. */
  async function pendingLink(name: string, server = 'secure') {
    const res = await callTool(name, server);
    expect(res.statusCode).toBe(401);
    const { flowId, oauthUrl } = res.json<{ flowId: string; oauthUrl: string }>();
    const caller = (await hub.identity.identityOf(
      (await hub.repos.users.findByEmail(`${name}@example.com`))!.id,
    ))!;
    const registered = await hub.servers.registry.get(server, caller);
    const link = await hub.authorization.browserLink(caller, registered, flowId);
    const ticket = LINK.exec(link)?.[1];
    expect(ticket, link).toBeDefined();
    secrets.push(ticket!);
    return { link, ticket: ticket!, path: new URL(link).pathname, flowId, oauthUrl };
  }

  const open = (path: string, cookie?: string) =>
    hub.app.inject({ method: 'GET', url: path, headers: cookie ? { cookie } : {} });
  const signIn = (
    path: string,
    name: string,
    password = passwords[name]!,
    headers: Record<string, string> = OWN_FORM,
  ) =>
    hub.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: new URLSearchParams({ email: `${name}@example.com`, password }).toString(),
    });
  const cookieNames = (res: Injected) => res.cookies.map((c) => c.name).sort();
  const sessionCookieOf = (res: Injected) => {
    const session = res.cookies.find((c) => c.name === 'sb_session');
    expect(session).toBeDefined();
    return `sb_session=${session!.value}`;
  };
  const flowStatus = async (name: string, flowId: string) =>
    (
      await hub.app.inject({
        method: 'GET',
        url: `/api/mcp/oauth/status/${encodeURIComponent(flowId)}`,
        headers: auth(name),
      })
    ).json<{ status: string }>().status;

  beforeAll(async () => {
    as = await startAuthorizationServer({ accessTokenTtlSeconds: 60 });
    mcp = await startProtectedMcpServer(as);
    hub = await startTestHub({
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
  team:
    type: streamable-http
    url: ${mcp.url}
    requiresOAuth: true
    sharedOAuth: true
`,
    });
    await Promise.all(
      ['alice', 'bob', 'carol', 'dave', 'erin', 'mallory', 'victor'].map((name) => user(name)),
    );
    await user('root', 'ADMIN');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await mcp?.stop();
    await as?.stop();
  });

  describe('the routes', () => {
    it('an unknown or malformed ticket → the error page (400), for GET and POST, and no cookie', async () => {
      for (const path of [`/api/mcp/oauth/link/${'A'.repeat(43)}`, '/api/mcp/oauth/link/not-a-ticket']) {
        const res = await open(path);
        expect(res.statusCode).toBe(400);
        expect(res.headers['content-type']).toContain('text/html');
        expect(res.body).toContain('This sign-in link is unknown, expired or was already used.');
        expect(res.cookies).toEqual([]);
        const posted = await signIn(path, 'alice');
        expect(posted.statusCode).toBe(400);
        expect(posted.body).toContain('unknown, expired or was already used');
        expect(posted.cookies).toEqual([]);
      }
    });

    it('the shared error page shows only its own words (a prototype key reads as the generic failure)', async () => {
      const res = await open('/oauth/error?error=toString');
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('The sign-in failed.');
    });

    it('GET without a hub cookie shows the sign-in form, sets no cookie, and is not cached', async () => {
      const { path } = await pendingLink('alice');
      const res = await open(path);
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('Sign in to Switchboard to let it connect <strong>secure</strong> for you.');
      expect(res.body).toContain('Switchboard account');
      expect(res.body).toMatch(/<form method="post" action="[A-Za-z0-9_-]{43}">/);
      expect(res.body).toContain('name="email"');
      expect(res.body).toContain('type="password" name="password"');
      expect(res.body).not.toContain('<script');
      expect(res.cookies).toEqual([]);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    });

    it('a wrong password → 401 and the form again; the link still works afterwards', async () => {
      const { path, oauthUrl } = await pendingLink('bob');
      const wrong = await signIn(path, 'bob', 'not-my-password');
      expect(wrong.statusCode).toBe(401);
      expect(wrong.body).toContain('Wrong email or password');
      expect(wrong.body).toContain('<form method="post"');
      expect(wrong.cookies).toEqual([]);
      const right = await signIn(path, 'bob');
      expect(right.statusCode).toBe(303);
      expect(right.headers.location).toBe(oauthUrl);
    });

    it("another user's credentials → 403, the link is spent, nothing is bound", async () => {
      const { path, flowId } = await pendingLink('carol');
      const res = await signIn(path, 'dave');
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain('This link was made for another Switchboard account');
      expect(res.cookies).toEqual([]);
      expect(res.headers.location).toBeUndefined();
      expect((await open(path)).statusCode).toBe(400);
      expect((await signIn(path, 'carol')).statusCode).toBe(400);
      expect(await flowStatus('carol', flowId)).toBe('PENDING');
    });

    it('the right user → 303 to the authorization server with the binding and session cookies; a second use → error', async () => {
      const { path, oauthUrl } = await pendingLink('erin');
      const res = await signIn(path, 'erin');
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe(oauthUrl);
      expect(new URL(res.headers.location as string).origin).toBe(as.issuer);
      expect(cookieNames(res)).toEqual(['sb_oauth_secure', 'sb_session']);
      expect(res.cookies.find((c) => c.name === 'sb_oauth_secure')).toMatchObject({
        httpOnly: true,
        sameSite: 'Lax',
        path: '/api/mcp',
      });
      expect(res.cookies.find((c) => c.name === 'sb_session')).toMatchObject({
        httpOnly: true,
        path: '/api',
      });
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      const again = await signIn(path, 'erin');
      expect(again.statusCode).toBe(400);
      expect(again.body).toContain('already used');
      expect(again.cookies).toEqual([]);
      expect((await open(path)).statusCode).toBe(400);
    });

    it("GET with the link user's session cookie → 302 straight to the authorization server, binding set", async () => {
      const first = await pendingLink('alice');
      const session = sessionCookieOf(await signIn(first.path, 'alice'));
      const { path, oauthUrl } = await pendingLink('alice');
      const res = await open(path, session);
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toBe(oauthUrl);
      expect(cookieNames(res)).toEqual(['sb_oauth_secure']);
      expect((await open(path, session)).statusCode).toBe(400);
    });

    it("GET with another user's session cookie → the form, not a redirect; the link stays usable", async () => {
      const bobs = await pendingLink('bob');
      const bobSession = sessionCookieOf(await signIn(bobs.path, 'bob'));
      const { path } = await pendingLink('alice');
      const res = await open(path, bobSession);
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('<form method="post"');
      expect(res.cookies).toEqual([]);
      // A forged session cookie (alice's id, no valid MAC) is no session at all.
      const aliceId = (await hub.repos.users.findByEmail('alice@example.com'))!.id;
      const forged = `sb_session=${Buffer.from(aliceId).toString('base64url')}.${'A'.repeat(43)}`;
      expect((await open(path, forged)).statusCode).toBe(200);
      expect((await signIn(path, 'alice')).statusCode).toBe(303);
    });

    it('a sign-in posted from another site is refused (login CSRF), and the link stays usable', async () => {
      const { path } = await pendingLink('mallory');
      for (const headers of [
        { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
        { 'sec-fetch-site': 'same-site', origin: 'https://sub.127.0.0.1' },
        // A browser without Fetch Metadata still names the other site in Origin.
        { origin: 'https://evil.example' },
      ]) {
        const res = await signIn(path, 'mallory', passwords.mallory, headers);
        expect(res.statusCode).toBe(403);
        expect(res.body).toContain('sent from another site');
        expect(res.cookies).toEqual([]);
      }
      // The hub's own origin is fine for a browser that sends Origin but no Fetch Metadata.
      expect((await signIn(path, 'mallory', passwords.mallory, { origin: PUBLIC_URL })).statusCode).toBe(303);
    });

    it('only small form bodies are read: JSON → 415, oversize → 413, missing fields → 400 page', async () => {
      const { path } = await pendingLink('dave');
      const json = await hub.app.inject({
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/json' },
        payload: { email: 'dave@example.com', password: passwords.dave },
      });
      expect(json.statusCode).toBe(415);
      expect(json.headers['content-type']).toContain('text/html');
      const big = await signIn(path, 'dave', 'p'.repeat(9000));
      expect(big.statusCode).toBe(413);
      const missing = await hub.app.inject({
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'email=dave%40example.com',
      });
      expect(missing.statusCode).toBe(400);
      expect(missing.headers['content-type']).toContain('text/html');
      expect((await signIn(path, 'dave')).statusCode).toBe(303);
    });

    it('an expired link (over 10 minutes) → the error page', async () => {
      const { path } = await pendingLink('carol');
      expect((await open(path)).statusCode).toBe(200);
      offset += 10 * 60_000 + 1_000;
      try {
        expect((await open(path)).statusCode).toBe(400);
        expect((await signIn(path, 'carol')).statusCode).toBe(400);
      } finally {
        offset = 0;
      }
    });
  });

  describe('end to end, with a real authorization server', () => {
    /** A browser's request to the hub: the jar's cookies for the hub's origin go along, its Set-Cookies come back. */
    async function hubRequest(jar: CookieJar, options: InjectOptions & { url: string }): Promise<Injected> {
      const url = `${PUBLIC_URL}${options.url}`;
      const cookie = jar.header(url);
      const res = await hub.app.inject({
        ...options,
        headers: { ...options.headers, ...(cookie ? { cookie } : {}) },
      });
      const headers = new Headers();
      const setCookie = res.headers['set-cookie'];
      for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [])
        headers.append('set-cookie', line);
      jar.store(url, headers);
      return res;
    }

    /** The browser opens the link, signs in, and is sent to the AS. */
    async function signInThroughLink(jar: CookieJar, path: string, name: string): Promise<Injected> {
      const form = await hubRequest(jar, { method: 'GET', url: path });
      expect(form.statusCode).toBe(200);
      return hubRequest(jar, {
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...OWN_FORM },
        payload: new URLSearchParams({ email: `${name}@example.com`, password: passwords[name]! }).toString(),
      });
    }

    const deliver = (jar: CookieJar, callbackUrl: string) => {
      const url = new URL(callbackUrl);
      return hubRequest(jar, { method: 'GET', url: `${url.pathname}${url.search}` });
    };

    it('a bearer-only client’s user authorizes in a fresh browser through the link, and the tool call then works', async () => {
      const grants = as.counts.authorizationCodeGrants;
      const { path } = await pendingLink('victor');
      const jar = new CookieJar();
      const signedIn = await signInThroughLink(jar, path, 'victor');
      expect(signedIn.statusCode).toBe(303);
      const { callbackUrl } = await authorizeInBrowser(signedIn.headers.location as string, {
        loginHint: 'alice',
        redirectUriPrefix: callbackPrefix('secure'),
        jar,
      });
      const done = await deliver(jar, callbackUrl);
      expect(done.statusCode).toBe(302);
      expect(done.headers.location).toBe(`${PUBLIC_URL}/oauth/success?serverName=secure`);
      expect(as.counts.authorizationCodeGrants).toBe(grants + 1);
      const res = await callTool('victor');
      expect(res.statusCode).toBe(200);
      expect(text(res)).toBe('alice');
    });

    it('OA-04 through the link: the victim signing in to the attacker’s link → 403; the attacker’s flow stays pending, no tokens anywhere', async () => {
      const grants = as.counts.authorizationCodeGrants;
      const attackerId = (await hub.repos.users.findByEmail('mallory@example.com'))!.id;
      const victimId = (await hub.repos.users.findByEmail('bob@example.com'))!.id;
      const attack = await pendingLink('mallory');
      const victimBrowser = new CookieJar();
      const res = await signInThroughLink(victimBrowser, attack.path, 'bob');
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain('another Switchboard account');
      expect(victimBrowser.header(`${PUBLIC_URL}/api/mcp/secure/oauth/callback`)).toBe('');
      // Even if the victim then consents at the AS on the attacker's URL, the callback is refused.
      const { callbackUrl } = await authorizeInBrowser(attack.oauthUrl, {
        loginHint: 'bob',
        redirectUriPrefix: callbackPrefix('secure'),
        jar: victimBrowser,
      });
      const refused = await deliver(victimBrowser, callbackUrl);
      expect(refused.headers.location).toBe(`${PUBLIC_URL}/oauth/error?error=csrf_validation_failed`);
      expect(as.counts.authorizationCodeGrants).toBe(grants);
      expect(await flowStatus('mallory', attack.flowId)).toBe('PENDING');
      expect(await hub.repos.credentials.listForUser(attackerId)).toEqual([]);
      expect(await hub.repos.credentials.listForUser(victimId)).toEqual([]);
    });

    it('login CSRF: another site posting the attacker’s own credentials into the victim’s browser binds nothing', async () => {
      const attack = await pendingLink('mallory');
      const victimBrowser = new CookieJar();
      const res = await hubRequest(victimBrowser, {
        method: 'POST',
        url: attack.path,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'sec-fetch-site': 'cross-site',
          origin: 'https://evil.example',
        },
        payload: new URLSearchParams({
          email: 'mallory@example.com',
          password: passwords.mallory!,
        }).toString(),
      });
      expect(res.statusCode).toBe(403);
      expect(victimBrowser.header(`${PUBLIC_URL}/api/mcp/secure/oauth/callback`)).toBe('');
    });

    it('a shared authorization: the admin who started it signs in, and every user then calls through it', async () => {
      const { path, flowId } = await pendingLink('root', 'team');
      expect(flowId).toBe('system:team');
      const jar = new CookieJar();
      const signedIn = await signInThroughLink(jar, path, 'root');
      expect(signedIn.statusCode).toBe(303);
      expect(cookieNames(signedIn)).toEqual(['sb_oauth_team', 'sb_session']);
      const { callbackUrl } = await authorizeInBrowser(signedIn.headers.location as string, {
        loginHint: 'bob',
        redirectUriPrefix: callbackPrefix('team'),
        jar,
      });
      expect((await deliver(jar, callbackUrl)).headers.location).toBe(
        `${PUBLIC_URL}/oauth/success?serverName=team`,
      );
      const res = await callTool('dave', 'team');
      expect(res.statusCode).toBe(200);
      expect(text(res)).toBe('bob');
    });

    it('SE-01: no ticket, password or session cookie value appears in any log line', async () => {
      expect(secrets.length).toBeGreaterThan(10);
      const logs = hub.logLines.join('\n');
      for (const secret of secrets) expect(logs.includes(secret), 'a secret is in the logs').toBe(false);
      expect(logs).not.toMatch(/sb_session=|sb_oauth_/);
      expect(logs).toContain('/api/mcp/oauth/link/[redacted]');
      expect(hub.logLines.some((line) => line.includes('"outcome":"other_user"'))).toBe(true);
    });
  });
});

describe('browser sign-in link rate limit', () => {
  it('sign-in posts are capped per client like POST /api/auth/login (a page, with Retry-After)', async () => {
    const hub = await startTestHub({ loginAttemptsPerMinute: 2 });
    try {
      const post = () =>
        hub.app.inject({
          method: 'POST',
          url: `/api/mcp/oauth/link/${'A'.repeat(43)}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: 'email=a%40example.com&password=x',
        });
      expect((await post()).statusCode).toBe(400);
      expect((await post()).statusCode).toBe(400);
      const limited = await post();
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['content-type']).toContain('text/html');
      expect(limited.headers['retry-after']).toBeDefined();
      expect(limited.body).toContain('Too many attempts');
    } finally {
      await hub.dispose();
    }
  });
});
