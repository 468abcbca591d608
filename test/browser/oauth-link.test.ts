import { afterAll, beforeAll, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/index.js';
import { startAuthorizationServer, type TestAuthorizationServer } from '../peers/oauth-as.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from '../peers/protected-mcp.js';
import { describeInChromium } from '../support/chromium.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { freePort } from '../support/mcp-helpers.js';

const PASSWORD = 'correct horse battery staple';

/** The browser sign-in link of an upstream OAuth flow, followed by a real Chromium. */
describeInChromium('the OAuth sign-in link in Chromium', (chromium) => {
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let hub: TestHub;
  let hubUrl: string;

  /** A pending flow of `name` for the `secure` server (started by a REST tool call) and its link. */
  async function pendingLink(name: string): Promise<{ link: string; oauthUrl: string; flowId: string }> {
    const token = await hub.userToken(`${name}@example.com`);
    const started = await hub.app.inject({
      method: 'POST',
      url: '/api/mcp/secure/tools/whoami/call',
      headers: { authorization: `Bearer ${token}` },
      payload: { arguments: {} },
    });
    expect(started.statusCode).toBe(401);
    const { flowId, oauthUrl } = started.json<{ flowId: string; oauthUrl: string }>();
    const user = (await hub.repos.users.findByEmail(`${name}@example.com`))!;
    const caller = (await hub.identity.identityOf(user.id))!;
    const server = await hub.servers.registry.get('secure', caller);
    return { link: await hub.authorization.browserLink(caller, server, flowId), oauthUrl, flowId };
  }

  /** Fills the hub's sign-in form the page is on and submits it; resolves after the next navigation. */
  async function signInAs(name: string): Promise<void> {
    const page = chromium.page;
    await page.locator('input[name="email"]').fill(`${name}@example.com`);
    await page.locator('input[name="password"]').fill(PASSWORD);
    await Promise.all([
      page.waitForNavigation(),
      page.locator('form[action$="/auth/signin"] button[type="submit"]').click(),
    ]);
  }

  /**
   * The person logs in at the authorization server first (the test AS logs in whoever `login_hint`
   * names, and later requests of the same browser ride on that session). The hub refuses that
   * callback: this browser holds neither the flow's binding cookie nor a hub session (OA-03), and
   * the flow stays pending for the link.
   */
  async function logInAtTheAuthorizationServer(oauthUrl: string, account: 'alice' | 'bob'): Promise<void> {
    const url = new URL(oauthUrl);
    url.searchParams.set('login_hint', account);
    await chromium.page.goto(url.href);
    expect(chromium.page.url()).toBe(`${hubUrl}/oauth/error?error=csrf_validation_failed`);
  }

  beforeAll(async () => {
    as = await startAuthorizationServer({ accessTokenTtlSeconds: 60 });
    mcp = await startProtectedMcpServer(as);
    const port = await freePort();
    hubUrl = `http://127.0.0.1:${port}`;
    hub = await startTestHub({
      env: { PUBLIC_URL: hubUrl },
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
    await hub.app.listen({ port, host: '127.0.0.1' });
    const passwordHash = await hashPassword(PASSWORD);
    for (const name of ['alice', 'bob', 'carol']) {
      await hub.repos.users.create({ email: `${name}@example.com`, passwordHash });
    }
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await mcp?.stop();
    await as?.stop();
  });

  it('no session: the link sends the browser to sign in, and back to the link, which goes on to the authorization server', async () => {
    const page = chromium.page;
    const { link, oauthUrl } = await pendingLink('alice');
    await logInAtTheAuthorizationServer(oauthUrl, 'bob');
    await page.goto(link);
    expect(new URL(page.url()).pathname).toBe('/auth/signin');
    expect(new URL(page.url()).searchParams.get('returnTo')).toBe(new URL(link).pathname);
    await chromium.screenshot('oauth-link-sign-in');
    // Signed in, back at the link, on to the AS, consent there, and the hub's callback completes.
    await signInAs('alice');
    expect(page.url(), page.url()).toBe(`${hubUrl}/oauth/success?serverName=secure`);
    expect(await page.locator('h1').textContent()).toBe('Connected');
    await chromium.screenshot('oauth-link-connected');
    const call = await hub.app.inject({
      method: 'POST',
      url: '/api/mcp/secure/tools/whoami/call',
      headers: { authorization: `Bearer ${await hub.userToken('alice@example.com')}` },
      payload: { arguments: {} },
    });
    expect(call.statusCode).toBe(200);
    expect(call.json<{ content: Array<{ text: string }> }>().content[0]?.text).toBe('bob');
    expect(chromium.offLoopback).toEqual([]);
  });

  it("another account's session: the wrong-account page, and its button signs out and back in as the link's user (who then completes it)", async () => {
    const page = chromium.page;
    await page.goto(`${hubUrl}/auth/signin`);
    await signInAs('bob');
    const { link, flowId, oauthUrl } = await pendingLink('carol');
    await logInAtTheAuthorizationServer(oauthUrl, 'alice');
    const response = await page.goto(link);
    expect(response?.status()).toBe(403);
    expect(await page.locator('h1').textContent()).toBe('Wrong account');
    expect(await page.locator('body').textContent()).toContain('bob@example.com');
    await chromium.screenshot('oauth-link-wrong-account');
    // Cookies are per host, not per port: the AS's own share 127.0.0.1, so only the hub's are compared.
    const hubCookies = (await chromium.context.cookies(hubUrl)).filter((c) => c.name.startsWith('sb_'));
    expect(hubCookies.map((c) => c.name)).toEqual(['sb_session']);

    await Promise.all([
      page.waitForNavigation(),
      page.locator('form[action$="/auth/signout"] button').click(),
    ]);
    expect(new URL(page.url()).pathname).toBe('/auth/signin');
    expect(await page.locator('input[name="password"]').isVisible()).toBe(true);
    await signInAs('carol');
    expect(page.url(), page.url()).toBe(`${hubUrl}/oauth/success?serverName=secure`);
    const status = await hub.app.inject({
      method: 'GET',
      url: `/api/mcp/oauth/status/${encodeURIComponent(flowId)}`,
      headers: { authorization: `Bearer ${await hub.userToken('carol@example.com')}` },
    });
    expect(status.json()).toMatchObject({ status: 'COMPLETED' });
    expect(chromium.offLoopback).toEqual([]);
  });
});
