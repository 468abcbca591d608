import { createHash, randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startOidcIdp, type TestIdp } from '../peers/oidc-idp.js';
import { startProbeServer, type ProbeServer } from '../peers/probe-server.js';
import { describeInChromium } from '../support/chromium.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { freePort } from '../support/mcp-helpers.js';
import { MemoryOAuthClient } from './memory-oauth-client.js';
import { LINK_PAGE, startOtherOrigin, type OtherOrigin } from './other-origin.js';

/**
 * The hub is served as `localhost` and the identity provider as `127.0.0.1`: two sites, so the
 * way back from the provider is a cross-site navigation, as with a real IdP, and the cookies that
 * bind the sign-in to this browser must survive it (SameSite=Lax).
 */
describeInChromium('single sign-on in Chromium', (chromium) => {
  let idp: TestIdp;
  let hub: TestHub;
  let hubUrl: string;
  let callbackPrefix: string;
  /** Another application of the user's at the same identity provider, and an MCP client's redirect URI. */
  let apps: OtherOrigin;
  let probe: ProbeServer;
  const clients: Client[] = [];

  beforeAll(async () => {
    const port = await freePort();
    hubUrl = `http://localhost:${port}`;
    callbackPrefix = `${hubUrl}/auth/sso/acme/callback`;
    apps = await startOtherOrigin({
      '/signed-in': '<!doctype html><title>app</title><h1>Signed in to another app</h1>',
      '/callback': '<!doctype html><title>client</title><h1>You can close this window</h1>',
      '/link': LINK_PAGE,
    });
    probe = await startProbeServer();
    idp = await startOidcIdp({
      clients: [
        { clientId: 'switchboard', redirectUri: callbackPrefix },
        { clientId: 'other-app', redirectUri: `${apps.origin}/signed-in` },
      ],
    });
    idp.accounts.set('alice', { email: 'alice@acme.example', email_verified: true, groups: ['eng'] });
    hub = await startTestHub({
      env: { PUBLIC_URL: hubUrl },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1:${new URL(probe.url).port}']
mcpServers:
  probe:
    type: streamable-http
    url: ${probe.url}
auth:
  sso:
    - id: acme
      name: Acme Keycloak
      issuer: ${idp.issuer}
      clientId: switchboard
      groupsClaim: groups
`,
    });
    await hub.startup.firstPass;
    // Every address localhost has here (127.0.0.1, and ::1 where there is one), for Node's fetch too.
    await hub.app.listen({ port, host: 'localhost' });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.dispose();
    await Promise.all([idp?.stop(), apps?.stop(), probe?.stop()]);
  });

  /**
   * The user signed in at their identity provider earlier, through another application of theirs,
   * so this browser holds a session there. (The provider peer has no login form: it signs in whoever
   * `login_hint` names, and a browser cannot add the hint to the hub's redirect on its own.)
   */
  async function signedInAtIdp(user: string): Promise<void> {
    const page = chromium.page;
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(`${idp.issuer}/auth`);
    authorize.search = new URLSearchParams({
      client_id: 'other-app',
      redirect_uri: `${apps.origin}/signed-in`,
      response_type: 'code',
      scope: 'openid',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state: 'other-app-state',
      login_hint: user,
    }).toString();
    await page.goto(authorize.href);
    expect(page.url()).toMatch(new RegExp(`^${apps.origin}/signed-in\\?code=`));
  }

  /** The session cookie's attributes as Chromium holds them, if any. */
  async function sessionCookie() {
    const cookies = await chromium.context.cookies(hubUrl);
    return cookies.find((cookie) => cookie.name === 'sb_session');
  }

  it('the sign-in page offers the provider; its button goes to the IdP and back, signed in', async () => {
    const page = chromium.page;
    await signedInAtIdp('alice');
    await page.goto(`${hubUrl}/auth/signin`);
    const button = page.locator('a.button', { hasText: 'Sign in with Acme Keycloak' });
    expect(await button.getAttribute('href')).toBe('/auth/sso/acme/start?returnTo=%2Fauth%2Fsignin');
    await chromium.screenshot('sso-signin-page');

    const visited: string[] = [];
    page.on('request', (request) => {
      if (request.isNavigationRequest()) visited.push(new URL(request.url()).origin);
    });
    await Promise.all([page.waitForNavigation(), button.click()]);
    // hub → IdP → hub: the chain went through the provider and came back to the hub.
    expect(visited).toContain(idp.issuer);
    expect(visited.at(-1)).toBe(hubUrl);
    expect(page.url()).toBe(`${hubUrl}/auth/signin`);
    expect(await page.locator('h1').textContent()).toBe('Signed in');
    expect(await page.locator('strong').textContent()).toBe('alice@acme.example');
    await chromium.screenshot('sso-signed-in');

    expect(await sessionCookie()).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    const session = await chromium.context.request.get(`${hubUrl}/api/auth/session`);
    expect(session.status()).toBe(200);
    expect(await session.json()).toMatchObject({
      user: { email: 'alice@acme.example' },
      method: 'sso',
    });
    expect(chromium.offLoopback).toEqual([]);
  });

  it('a callback replayed in another browser is refused with a plain page, and signs nobody in', async () => {
    const page = chromium.page;
    await signedInAtIdp('alice');
    let callback = '';
    page.on('request', (request) => {
      if (request.url().startsWith(callbackPrefix)) callback = request.url();
    });
    await page.goto(`${hubUrl}/auth/sso/acme/start?returnTo=%2Fauth%2Fsignin`);
    expect(await page.locator('h1').textContent()).toBe('Signed in');
    expect(callback).toContain('code=');

    // Another browser: none of this one's cookies, so no binding for this state (and the code is spent).
    await chromium.context.clearCookies();
    const response = await page.goto(callback);
    expect(response?.status()).toBeGreaterThanOrEqual(400);
    expect(await page.locator('h1').textContent()).toBe('Sign-in failed');
    const body = (await page.locator('body').textContent()) ?? '';
    expect(body).not.toContain(new URL(callback).searchParams.get('code') ?? '-');
    await chromium.screenshot('sso-callback-refused');
    expect(await sessionCookie()).toBeUndefined();
    expect(chromium.offLoopback).toEqual([]);
  });

  it('an MCP client authorized through single sign-on, started from another site: authorize → sign-in page → IdP → consent → code → tools/list', async () => {
    const page = chromium.page;
    await signedInAtIdp('alice');
    const oauth = new MemoryOAuthClient(`${apps.origin}/callback`, 'SSO Chromium Client');
    const transport = new StreamableHTTPClientTransport(new URL(`${hubUrl}/mcp`), { authProvider: oauth });
    await expect(
      new Client({ name: 'chromium-sso-test', version: '1.0.0' }).connect(transport),
    ).rejects.toBeInstanceOf(UnauthorizedError);

    // The client opens the authorization from a page of its own site (127.0.0.1, while the hub is
    // localhost): a cross-site navigation, so only SameSite=Lax (or laxer) cookies may carry the flow.
    await page.goto(`${apps.origin}/link?href=${encodeURIComponent(oauth.authorizationUrl.href)}`);
    await Promise.all([page.waitForNavigation(), page.locator('a').click()]);
    expect(new URL(page.url()).pathname).toBe('/auth/signin');
    await Promise.all([
      page.waitForNavigation(),
      page.locator('a.button', { hasText: 'Sign in with Acme Keycloak' }).click(),
    ]);
    // Back from the IdP, signed in to the hub, at the consent step of the same authorization.
    expect(new URL(page.url()).pathname).toMatch(/^\/oauth2\/interaction\/[\w-]+$/);
    expect(await page.locator('h1').textContent()).toBe('Allow access?');
    const consent = (await page.locator('body').textContent()) ?? '';
    expect(consent).toContain('SSO Chromium Client');
    expect(consent).toContain('alice@acme.example');
    await chromium.screenshot('sso-authorize-consent');

    await Promise.all([
      page.waitForURL(`${apps.origin}/callback?**`),
      page.locator('form[action$="/approve"] button[type="submit"]').click(),
    ]);
    await transport.finishAuth(new URL(page.url()).searchParams.get('code') ?? '');
    const connected = new Client({ name: 'chromium-sso-test', version: '1.0.0' });
    clients.push(connected);
    await connected.connect(
      new StreamableHTTPClientTransport(new URL(`${hubUrl}/mcp`), { authProvider: oauth }),
    );
    const { tools } = await connected.listTools();
    expect(tools.map((tool) => tool.name)).toContain('probe__whoami');
    expect(chromium.offLoopback).toEqual([]);
  });
});
