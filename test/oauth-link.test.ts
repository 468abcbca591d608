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
  const cookieNames = (res: Injected) => res.cookies.map((c) => c.name).sort();
  /** A browser signed in to the hub as `name` (the sign-in page's own form); its cookie header. */
  async function sessionOf(name: string): Promise<string> {
    const res = await hub.app.inject({
      method: 'POST',
      url: '/auth/signin',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...OWN_FORM },
      payload: new URLSearchParams({ email: `${name}@example.com`, password: passwords[name]! }).toString(),
    });
    expect(res.statusCode).toBe(303);
    const session = res.cookies.find((c) => c.name === 'sb_session');
    expect(session).toBeDefined();
    secrets.push(session!.value);
    return `sb_session=${session!.value}`;
  }
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

  describe('the route', () => {
    it('an unknown or malformed ticket → the error page (400) and no cookie; the old POST form is gone', async () => {
      for (const path of [`/api/mcp/oauth/link/${'A'.repeat(43)}`, '/api/mcp/oauth/link/not-a-ticket']) {
        const res = await open(path);
        expect(res.statusCode).toBe(400);
        expect(res.headers['content-type']).toContain('text/html');
        expect(res.body).toContain('This sign-in link is unknown, expired or was already used.');
        expect(res.cookies).toEqual([]);
        const posted = await hub.app.inject({
          method: 'POST',
          url: path,
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...OWN_FORM },
          payload: 'email=alice%40example.com&password=x',
        });
        expect(posted.statusCode).toBe(404);
        expect(posted.cookies).toEqual([]);
      }
    });

    it('the shared error page shows only its own words (a prototype key reads as the generic failure)', async () => {
      const res = await open('/oauth/error?error=toString');
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('The sign-in failed.');
    });

    it('no hub session → 303 to the sign-in page, which returns to the link; no cookie, not cached', async () => {
      const { path } = await pendingLink('alice');
      const res = await open(path);
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe(`${PUBLIC_URL}/auth/signin?returnTo=${encodeURIComponent(path)}`);
      expect(res.cookies).toEqual([]);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      // The sign-in page carries the link as its return path.
      const form = await open(res.headers.location!.slice(PUBLIC_URL.length));
      expect(form.statusCode).toBe(200);
      expect(form.body).toContain(`name="returnTo" value="${path}"`);
      // A forged or dead session cookie is no session either.
      expect((await open(path, `sb_session=${'A'.repeat(43)}`)).statusCode).toBe(303);
    });

    it("the link user's session → 302 to the authorization server with the binding cookie; a second use → error", async () => {
      const session = await sessionOf('erin');
      const { path, oauthUrl } = await pendingLink('erin');
      const res = await open(path, session);
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toBe(oauthUrl);
      expect(new URL(res.headers.location!).origin).toBe(as.issuer);
      expect(cookieNames(res)).toEqual(['sb_oauth_secure']);
      expect(res.cookies.find((c) => c.name === 'sb_oauth_secure')).toMatchObject({
        httpOnly: true,
        sameSite: 'Lax',
        path: '/api/mcp',
      });
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      const again = await open(path, session);
      expect(again.statusCode).toBe(400);
      expect(again.body).toContain('already used');
      expect(again.cookies).toEqual([]);
    });

    it("OA-04: another user's session → 403 naming who is signed in, nothing bound; the link stays usable by its user", async () => {
      const bobSession = await sessionOf('bob');
      const { path, flowId, oauthUrl } = await pendingLink('carol');
      const res = await open(path, bobSession);
      expect(res.statusCode).toBe(403);
      expect(res.body).toContain('This link was made for another Switchboard account');
      expect(res.body).toContain('<strong>bob@example.com</strong>');
      expect(res.body).toMatch(/<form class="inline" method="post" action="\/auth\/signout">/);
      expect(res.body).toContain(`name="returnTo" value="${path}"`);
      expect(res.cookies).toEqual([]);
      expect(res.headers.location).toBeUndefined();
      expect(await flowStatus('carol', flowId)).toBe('PENDING');
      const carols = await open(path, await sessionOf('carol'));
      expect(carols.statusCode).toBe(302);
      expect(carols.headers.location).toBe(oauthUrl);
    });

    it('an expired link (over 10 minutes) → the error page', async () => {
      const session = await sessionOf('dave');
      const { path } = await pendingLink('dave');
      expect((await open(path)).statusCode).toBe(303);
      offset += 10 * 60_000 + 1_000;
      try {
        expect((await open(path, session)).statusCode).toBe(400);
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

    /** A hub URL a response redirects to, as a path for `inject`. */
    const hubPath = (res: Injected) => {
      const location = new URL(res.headers.location!, PUBLIC_URL);
      expect(location.origin).toBe(PUBLIC_URL);
      return `${location.pathname}${location.search}`;
    };

    /**
     * The browser opens the link, is sent to the sign-in page, signs in there as `name` and is sent
     * back to the link; answers the link's second answer (the redirect to the AS, or a refusal).
     */
    async function signInThroughLink(jar: CookieJar, path: string, name: string): Promise<Injected> {
      const first = await hubRequest(jar, { method: 'GET', url: path });
      expect(first.statusCode).toBe(303);
      const form = await hubRequest(jar, { method: 'GET', url: hubPath(first) });
      expect(form.statusCode).toBe(200);
      const returnTo = /name="returnTo" value="([^"]*)"/.exec(form.body)?.[1];
      expect(returnTo).toBe(path);
      const signedIn = await hubRequest(jar, {
        method: 'POST',
        url: '/auth/signin',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...OWN_FORM },
        payload: new URLSearchParams({
          email: `${name}@example.com`,
          password: passwords[name]!,
          returnTo: returnTo!,
        }).toString(),
      });
      expect(signedIn.statusCode).toBe(303);
      expect(hubPath(signedIn)).toBe(path);
      return hubRequest(jar, { method: 'GET', url: path });
    }

    const deliver = (jar: CookieJar, callbackUrl: string) => {
      const url = new URL(callbackUrl);
      return hubRequest(jar, { method: 'GET', url: `${url.pathname}${url.search}` });
    };

    it('a bearer-only client’s user authorizes in a fresh browser through the link (no session → sign in → back → AS), and the tool call then works', async () => {
      const grants = as.counts.authorizationCodeGrants;
      const { path } = await pendingLink('victor');
      const jar = new CookieJar();
      const signedIn = await signInThroughLink(jar, path, 'victor');
      expect(signedIn.statusCode).toBe(302);
      const { callbackUrl } = await authorizeInBrowser(signedIn.headers.location!, {
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
      expect(
        victimBrowser.get(`${PUBLIC_URL}/api/mcp/secure/oauth/callback`, 'sb_oauth_secure'),
      ).toBeUndefined();
      // Even if the victim then consents at the AS on the attacker's URL, the callback is refused:
      // the victim's session is not the flow user's.
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

    it('login CSRF: another site posting the attacker’s own credentials into the victim’s browser signs it in to nothing', async () => {
      const attack = await pendingLink('mallory');
      const victimBrowser = new CookieJar();
      const res = await hubRequest(victimBrowser, {
        method: 'POST',
        url: '/auth/signin',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'sec-fetch-site': 'cross-site',
          origin: 'https://evil.example',
        },
        payload: new URLSearchParams({
          email: 'mallory@example.com',
          password: passwords.mallory!,
          returnTo: attack.path,
        }).toString(),
      });
      expect(res.statusCode).toBe(403);
      expect(victimBrowser.header(`${PUBLIC_URL}/api/mcp/secure/oauth/callback`)).toBe('');
      // The attacker's link then finds no session in the victim's browser and asks it to sign in.
      expect((await hubRequest(victimBrowser, { method: 'GET', url: attack.path })).statusCode).toBe(303);
    });

    it('the callback accepts the browser session of the flow’s user without the binding cookie, and refuses another user’s', async () => {
      const grants = as.counts.authorizationCodeGrants;
      // The flow starts over REST (the binding cookie goes to that client, not to this browser).
      const started = await callTool('dave');
      expect(started.statusCode).toBe(401);
      const { callbackUrl } = await authorizeInBrowser(started.json<{ oauthUrl: string }>().oauthUrl, {
        loginHint: 'bob',
        redirectUriPrefix: callbackPrefix('secure'),
      });
      const callback = new URL(callbackUrl);
      const url = `${callback.pathname}${callback.search}`;
      const refused = await hub.app.inject({
        method: 'GET',
        url,
        headers: { cookie: await sessionOf('erin') },
      });
      expect(refused.headers.location).toBe(`${PUBLIC_URL}/oauth/error?error=csrf_validation_failed`);
      expect(as.counts.authorizationCodeGrants).toBe(grants);
      const own = await hub.app.inject({ method: 'GET', url, headers: { cookie: await sessionOf('dave') } });
      expect(own.headers.location).toBe(`${PUBLIC_URL}/oauth/success?serverName=secure`);
      expect(as.counts.authorizationCodeGrants).toBe(grants + 1);
    });

    it('a shared authorization: the admin who started it signs in, and every user then calls through it', async () => {
      const { path, flowId } = await pendingLink('root', 'team');
      expect(flowId).toBe('system:team');
      const jar = new CookieJar();
      const signedIn = await signInThroughLink(jar, path, 'root');
      expect(signedIn.statusCode).toBe(302);
      expect(cookieNames(signedIn)).toEqual(['sb_oauth_team']);
      const { callbackUrl } = await authorizeInBrowser(signedIn.headers.location!, {
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
