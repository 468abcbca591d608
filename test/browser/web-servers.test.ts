import type { Locator, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdioCommand } from '../peers/everything.js';
import { startAuthorizationServer, type TestAuthorizationServer } from '../peers/oauth-as.js';
import { startProbeServer, type ProbeServer } from '../peers/probe-server.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from '../peers/protected-mcp.js';
import { describeInChromium, type ChromiumHarness } from '../support/chromium.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { freePort } from '../support/mcp-helpers.js';
import { cheapPasswordHash } from './cheap-password.js';
import { shootBothWidths, signInThroughPage, webPageBuilt } from './web-page.js';

// A plain user: what the Servers screen is for. The admin's view differs only in who may close shared connections.
const EMAIL = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';
/** A value for the sensitive variable, looked for everywhere it must not be. */
const SECRET = `sk-canary-${Math.random().toString(36).slice(2)}-do-not-show`;

const built = await webPageBuilt('the Servers screen suite');

(built ? describe : describe.skip)('the Servers screen', () => {
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let probe: ProbeServer;
  let hub: TestHub;
  let hubUrl: string;

  beforeAll(async () => {
    // Ten minutes: the screen says "expires in 10 min" (or 9, as a minute may tick over meanwhile).
    as = await startAuthorizationServer({ accessTokenTtlSeconds: 600 });
    mcp = await startProtectedMcpServer(as);
    probe = await startProbeServer();
    const port = await freePort();
    hubUrl = `http://127.0.0.1:${port}`;
    const stdio = everythingStdioCommand();
    hub = await startTestHub({
      env: { PUBLIC_URL: hubUrl },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  everything:
    command: ${JSON.stringify(stdio.command)}
    args: ${JSON.stringify(stdio.args)}
    title: Everything demo
    description: The reference MCP server, run by the hub as a local process.
  secure:
    type: streamable-http
    url: ${mcp.url}
    requiresOAuth: true
    title: Secure notes
    description: A server behind its own OAuth sign-in.
  keyed:
    type: streamable-http
    url: ${probe.url}
    startup: false
    title: Keyed probe
    description: Asks each user for a key of their own.
    headers:
      X-Api-Key: '{{PROBE_KEY}}'
      X-Probe-User: '{{PROBE_USER}}'
    customUserVars:
      PROBE_KEY: { title: API key, description: Your own key for the probe, sensitive: true }
      PROBE_USER: { title: User name, description: The name the probe knows you by, sensitive: false }
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port, host: '127.0.0.1' });
    await hub.repos.users.create({ email: EMAIL, role: 'USER', passwordHash: cheapPasswordHash(PASSWORD) });
    // A server of alice's own, made through the API as the My servers screen would.
    const created = await hub.app.inject({
      method: 'POST',
      url: '/api/mcp/servers',
      headers: { authorization: `Bearer ${await hub.userToken(EMAIL)}` },
      payload: {
        config: { type: 'streamable-http', url: probe.url, title: 'My probe', description: 'Made by alice.' },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await Promise.all([mcp?.stop(), probe?.stop()]);
    await as?.stop();
  });

  /** The card of the server whose heading is `title`. */
  function card(page: Page, title: string): Locator {
    return page
      .getByRole('listitem')
      .filter({ has: page.getByRole('heading', { name: title, exact: true }) });
  }

  /**
   * Makes the test AS log in `alice` for the authorization requests of this browser: it logs in
   * whoever `login_hint` names, and the hub's authorization URL names nobody.
   */
  async function logInAtTheAuthorizationServerAs(chromium: ChromiumHarness, account: string): Promise<void> {
    await chromium.context.route(
      (url) => url.origin === as.issuer && url.pathname === '/auth',
      async (route) => {
        const url = new URL(route.request().url());
        url.searchParams.set('login_hint', account);
        await route.continue({ url: url.href });
      },
    );
  }

  /** Revokes alice's authorization of `secure` through the API, so a test starts signed out of it. */
  async function revokeSecure(): Promise<void> {
    const revoked = await hub.app.inject({
      method: 'POST',
      url: '/api/mcp/secure/disconnect?revoke=true',
      headers: { authorization: `Bearer ${await hub.userToken(EMAIL)}` },
    });
    expect(revoked.statusCode, revoked.body).toBe(200);
  }

  /** Clicks Connect on the card and answers the popup it opened, with every URL it went to. */
  async function connectInPopup(chromium: ChromiumHarness, server: Locator) {
    const [popup] = await Promise.all([
      chromium.context.waitForEvent('page'),
      server.getByRole('button', { name: 'Connect', exact: true }).click(),
    ]);
    const visited: string[] = [];
    // Each hop of the sign-in's redirect chain is a navigation request of the popup.
    popup.on('request', (request) => {
      if (request.isNavigationRequest() && request.frame() === popup.mainFrame()) visited.push(request.url());
    });
    return { popup, visited };
  }

  describeInChromium('in Chromium', (chromium) => {
    it('lists every server with its title, description, transport, owner and state', async () => {
      const page = chromium.page;
      await signInThroughPage(page, hubUrl, EMAIL, PASSWORD);
      const everything = card(page, 'Everything demo');
      await everything.locator('.state-connected').waitFor();
      await expect.poll(() => everything.getByText(/^\d+ tools$/).textContent()).toMatch(/^[1-9]\d* tools$/);
      const expected = [
        [
          'Everything demo',
          'The reference MCP server, run by the hub as a local process.',
          'Local process (stdio)',
          'Admin',
        ],
        ['Secure notes', 'A server behind its own OAuth sign-in.', 'Streamable HTTP', 'Admin'],
        ['Keyed probe', 'Asks each user for a key of their own.', 'Streamable HTTP', 'Admin'],
        ['My probe', 'Made by alice.', 'Streamable HTTP', 'You'],
      ] as const;
      for (const [title, description, transport, owner] of expected) {
        const server = card(page, title);
        expect(await server.getByText(description).isVisible(), title).toBe(true);
        expect(await server.getByText(transport, { exact: true }).isVisible(), title).toBe(true);
        await expect.poll(() => server.getByTestId('owner').textContent(), { message: title }).toBe(owner);
      }
      expect(await card(page, 'Secure notes').getByTestId('auth-state').textContent()).toBe('Needs sign-in');
      expect(await card(page, 'Keyed probe').getByTestId('variables-summary').textContent()).toBe(
        'Variables: 0 of 2 set',
      );
      await shootBothWidths(chromium, 'servers-list');
      expect(chromium.offLoopback).toEqual([]);
    }, 120_000);

    it('connects an OAuth server in a popup that closes itself, shows it authorized with its tools, and revokes it', async () => {
      const page = chromium.page;
      await revokeSecure();
      await logInAtTheAuthorizationServerAs(chromium, 'alice');
      await signInThroughPage(page, hubUrl, EMAIL, PASSWORD);
      const secure = card(page, 'Secure notes');
      const auth = secure.getByTestId('auth-state');
      await expect.poll(() => auth.textContent()).toBe('Needs sign-in');

      const { popup, visited } = await connectInPopup(chromium, secure);
      if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 20_000 });
      // It went to the authorization server and back to the hub's success page, which closed it.
      expect(
        visited.some((url) => url.startsWith(`${as.issuer}/`)),
        visited.join('\n'),
      ).toBe(true);
      expect(visited.at(-1)).toBe(`${hubUrl}/oauth/success?serverName=secure`);

      await expect
        .poll(() => auth.textContent(), { timeout: 15_000 })
        .toMatch(/^Authorized, expires in (9|10) min$/);
      expect(await secure.getByRole('status').filter({ hasText: 'Signed in.' }).textContent()).toBe(
        'Signed in. Secure notes is authorized.',
      );
      await secure.locator('.state-connected').waitFor({ timeout: 15_000 });
      await expect
        .poll(() => secure.getByText(/^\d+ tools?$/).textContent(), { timeout: 15_000 })
        .not.toBe('0 tools');
      await secure.locator('summary', { hasText: 'Tools' }).click();
      expect(await secure.locator('.tools code').allTextContents()).toContain('whoami');
      await shootBothWidths(chromium, 'servers-oauth-success');

      await secure.getByRole('button', { name: 'Revoke' }).click();
      await expect.poll(() => auth.textContent()).toBe('Needs sign-in');
      expect(await secure.getByText(/^Signed out of Secure notes/).textContent()).toBe(
        'Signed out of Secure notes: its tokens were revoked and deleted.',
      );
      expect(await secure.getByRole('button', { name: 'Connect', exact: true }).isVisible()).toBe(true);
      expect(as.counts.revocations).toBeGreaterThan(0);
      expect(chromium.offLoopback).toEqual([]);
    }, 120_000);

    it('says in plain words that access was denied when the authorization server refuses the sign-in', async () => {
      const page = chromium.page;
      // No login hint: the test AS ends the authorization with access_denied.
      await revokeSecure();
      await signInThroughPage(page, hubUrl, EMAIL, PASSWORD);
      const secure = card(page, 'Secure notes');
      await expect.poll(() => secure.getByTestId('auth-state').textContent()).toBe('Needs sign-in');
      const { popup, visited } = await connectInPopup(chromium, secure);
      if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 20_000 });
      expect(visited.at(-1)).toBe(`${hubUrl}/oauth/error?error=access_denied`);
      const alert = secure.getByRole('alert').filter({ hasText: 'declined' });
      await alert.waitFor();
      expect(await alert.textContent()).toBe(
        'You declined access at the sign-in page, or it refused the sign-in. Nothing was connected.',
      );
      expect(await secure.getByTestId('auth-state').textContent()).toBe('Needs sign-in');
      await chromium.screenshot('web-servers-oauth-denied');
      expect(chromium.offLoopback).toEqual([]);
    });

    it('notices a sign-in window closed before the end, and cancels a pending sign-in', async () => {
      const page = chromium.page;
      // The authorization server's page never moves on: the person closes the window.
      await chromium.context.route(
        (url) => url.origin === as.issuer && url.pathname === '/auth',
        (route) =>
          route.fulfill({
            status: 200,
            contentType: 'text/html',
            body: '<title>Sign in</title><h1>Sign in</h1>',
          }),
      );
      await revokeSecure();
      await signInThroughPage(page, hubUrl, EMAIL, PASSWORD);
      const secure = card(page, 'Secure notes');
      const first = await connectInPopup(chromium, secure);
      await first.popup.waitForURL(`${as.issuer}/auth?**`);
      await first.popup.close();
      const closed = secure.getByText(
        'The sign-in window was closed before the sign-in finished. Nothing changed.',
      );
      await closed.waitFor();

      const second = await connectInPopup(chromium, secure);
      await second.popup.waitForURL(`${as.issuer}/auth?**`);
      await secure.getByRole('button', { name: 'Cancel sign-in' }).click();
      await secure.getByRole('alert').filter({ hasText: 'cancelled' }).waitFor();
      expect(await secure.getByRole('alert').filter({ hasText: 'cancelled' }).textContent()).toBe(
        'The sign-in was cancelled. Nothing was connected.',
      );
      // The page closes the window it opened once the sign-in is over.
      if (!second.popup.isClosed()) await second.popup.waitForEvent('close');
      expect(await secure.getByTestId('auth-state').textContent()).toBe('Needs sign-in');
    });

    it('with popups blocked, offers the sign-in as a link; its result page stays open as a plain page and the screen still learns the outcome', async () => {
      const page = chromium.page;
      await revokeSecure();
      await logInAtTheAuthorizationServerAs(chromium, 'alice');
      await page.addInitScript('window.open = () => null');
      await signInThroughPage(page, hubUrl, EMAIL, PASSWORD);
      const secure = card(page, 'Secure notes');
      await secure.getByRole('button', { name: 'Connect', exact: true }).click();
      const link = secure.getByRole('link', { name: 'Open the sign-in page of Secure notes' });
      const [tab] = await Promise.all([chromium.context.waitForEvent('page'), link.click()]);
      await tab.waitForURL(`${hubUrl}/oauth/success?serverName=secure`);
      expect(await tab.locator('h1').textContent()).toBe('Connected');
      await expect
        .poll(() => secure.getByTestId('auth-state').textContent(), { timeout: 15_000 })
        .toMatch(/^Authorized, expires in (9|10) min$/);
      // No opener (the link opens it without one): the page did not close itself.
      expect(tab.isClosed()).toBe(false);
      expect(chromium.offLoopback).toEqual([]);
    });

    it('sets, shows only as set, and clears custom variables; the secret value is nowhere in the page or its responses', async () => {
      const page = chromium.page;
      const bodies: Promise<string>[] = [];
      page.on('response', (response: Response) => {
        if (response.url().startsWith(hubUrl)) bodies.push(response.text().catch(() => ''));
      });
      await signInThroughPage(page, hubUrl, EMAIL, PASSWORD);
      await card(page, 'Keyed probe')
        .getByRole('link', { name: /^Variables and details/ })
        .click();
      await page.getByRole('heading', { name: 'Keyed probe', level: 1 }).waitFor();
      const keyState = page.locator('[data-variable="PROBE_KEY"]').getByTestId('variable-state');
      const userState = page.locator('[data-variable="PROBE_USER"]').getByTestId('variable-state');
      await expect.poll(() => keyState.textContent()).toBe('Not set');
      expect(await userState.textContent()).toBe('Not set');
      const keyInput = page.getByLabel('API key', { exact: true });
      expect(await keyInput.getAttribute('type')).toBe('password');
      expect(await page.getByLabel('User name', { exact: true }).getAttribute('type')).toBe('text');

      await keyInput.fill(SECRET);
      // By keyboard: Enter in a field saves the form.
      await page.getByLabel('User name', { exact: true }).fill('alice-at-probe');
      await page.getByLabel('User name', { exact: true }).press('Enter');
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      await expect.poll(() => keyState.textContent()).toBe('Set');
      expect(await userState.textContent()).toBe('Set');
      expect(await keyInput.inputValue()).toBe('');
      await shootBothWidths(chromium, 'server-variables');

      // The value really is the caller's: the probe receives it as the header.
      const call = await hub.app.inject({
        method: 'POST',
        url: '/api/mcp/keyed/tools/whoami/call',
        headers: { authorization: `Bearer ${await hub.userToken(EMAIL)}` },
        payload: { arguments: {} },
      });
      expect(call.statusCode, call.body).toBe(200);
      expect(call.body).toContain(SECRET);

      await page.reload();
      await page.getByRole('heading', { name: 'Keyed probe', level: 1 }).waitFor();
      await expect.poll(() => keyState.textContent()).toBe('Set');
      expect(await page.getByLabel('API key', { exact: true }).inputValue()).toBe('');
      expect(await page.content()).not.toContain(SECRET);
      const received = await Promise.all(bodies);
      expect(received.length).toBeGreaterThan(5);
      expect(received.filter((body) => body.includes(SECRET))).toEqual([]);
      expect(hub.logLines.filter((line) => line.includes(SECRET))).toEqual([]);

      await page.getByRole('button', { name: 'Clear API key' }).click();
      await expect.poll(() => keyState.textContent()).toBe('Not set');
      expect(await userState.textContent()).toBe('Set');
      await page.getByRole('button', { name: 'Clear all' }).click();
      await expect.poll(() => userState.textContent()).toBe('Not set');
      await page.getByRole('status').filter({ hasText: 'All variables cleared.' }).waitFor();
      expect(chromium.offLoopback).toEqual([]);
    }, 120_000);
  });
});
