import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InvalidGrantError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdioCommand } from '../peers/everything.js';
import { describeInChromium } from '../support/chromium.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { freePort } from '../support/mcp-helpers.js';
import { cheapPasswordHash } from './cheap-password.js';
import { MemoryOAuthClient } from './memory-oauth-client.js';
import { startOtherOrigin, type OtherOrigin } from './other-origin.js';
import { shootBothWidths, signInThroughPage, webPageBuilt } from './web-page.js';

const EMAIL = 'carol@example.com';
const PASSWORD = 'correct horse battery staple';
const CLIENT_NAME = 'Apps Screen Test Client';

const built = await webPageBuilt('the Connected apps suite');

/** The `resource` of one of the hub's RFC 9728 metadata documents: the URL clients must use. */
async function resourceOf(hubUrl: string, path: string): Promise<string> {
  const response = await fetch(`${hubUrl}/.well-known/oauth-protected-resource${path}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { resource: string }).resource;
}

/** Opens Connected apps through the page's navigation and waits for its list to load. */
async function openAppsScreen(page: Page): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Screens' })
    .getByRole('link', { name: 'Connected apps' })
    .click();
  await page.getByRole('heading', { name: 'Connected apps', level: 1 }).waitFor();
  await page.getByRole('heading', { name: 'MCP URL' }).waitFor();
}

// Skipped only where web/dist is not built; under CI=true webPageBuilt throws instead, so CI runs it.
(built ? describe : describe.skip)('the Connected apps screen', () => {
  let hub: TestHub;
  let hubUrl: string;
  /** The MCP client's own side: its loopback redirect URI. */
  let clientSite: OtherOrigin;
  const clients: Client[] = [];

  beforeAll(async () => {
    clientSite = await startOtherOrigin({
      '/callback': '<!doctype html><title>client</title><h1>You can close this window</h1>',
    });
    const port = await freePort();
    hubUrl = `http://127.0.0.1:${port}`;
    const stdio = everythingStdioCommand();
    hub = await startTestHub({
      env: { PUBLIC_URL: hubUrl },
      yaml: `
mcpServers:
  everything:
    command: ${JSON.stringify(stdio.command)}
    args: ${JSON.stringify(stdio.args)}
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port, host: '127.0.0.1' });
    await hub.repos.users.create({ email: EMAIL, role: 'USER', passwordHash: cheapPasswordHash(PASSWORD) });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await hub?.dispose();
    await clientSite?.stop();
  });

  /**
   * A real MCP client allowed by the user: the SDK client meets the 401, finds the hub's
   * authorization server, registers under `clientName` and asks for a browser; the browser signs
   * in on the hub's own sign-in page and approves it; the client then connects.
   */
  async function authorizeClient(page: Page, clientName: string) {
    const oauth = new MemoryOAuthClient(`${clientSite.origin}/callback`, clientName);
    const transport = new StreamableHTTPClientTransport(new URL(`${hubUrl}/mcp`), { authProvider: oauth });
    await expect(
      new Client({ name: 'apps-test', version: '1.0.0' }).connect(transport),
    ).rejects.toBeInstanceOf(UnauthorizedError);
    await page.goto(oauth.authorizationUrl.href);
    if (new URL(page.url()).pathname === '/auth/signin') {
      await page.locator('input[name="email"]').fill(EMAIL);
      await page.locator('input[name="password"]').fill(PASSWORD);
      await Promise.all([page.waitForNavigation(), page.locator('button[type="submit"]').click()]);
    }
    expect(await page.locator('h1').textContent()).toBe('Allow access?');
    await Promise.all([
      page.waitForURL(`${clientSite.origin}/callback?**`),
      page.locator('form[action$="/approve"] button[type="submit"]').click(),
    ]);
    await transport.finishAuth(new URL(page.url()).searchParams.get('code') ?? '');
    const connected = new Client({ name: 'apps-test', version: '1.0.0' });
    clients.push(connected);
    await connected.connect(
      new StreamableHTTPClientTransport(new URL(`${hubUrl}/mcp`), { authProvider: oauth }),
    );
    return { oauth, connected };
  }

  describeInChromium('in Chromium', (chromium) => {
    it('with no app allowed: says so, shows the metadata URL, and selects the text when the clipboard refuses', async () => {
      const page = chromium.page;
      // A browser that refuses clipboard writes: the page must fall back to selecting the text.
      await page.addInitScript({
        content: `Object.defineProperty(navigator.clipboard, 'writeText', {
          value: () => Promise.reject(new DOMException('refused', 'NotAllowedError')),
        });`,
      });
      await signInThroughPage(page, hubUrl, EMAIL, PASSWORD);
      await openAppsScreen(page);

      await page.getByRole('heading', { name: 'No apps yet' }).waitFor();
      expect(
        await page
          .getByRole('list')
          .filter({ has: page.getByRole('button', { name: /^Revoke/ }) })
          .count(),
      ).toBe(0);
      const resource = await resourceOf(hubUrl, '/mcp');
      expect(resource).toBe(`${hubUrl}/mcp`);
      const url = page.getByTestId('copy-text').first();
      expect(await url.textContent()).toBe(resource);
      // How an app gets in: the approval in the browser, then this list.
      expect(await page.getByText(/opens the hub's sign-in page in your browser/).textContent()).toContain(
        'revoke',
      );

      await page.getByRole('button', { name: 'Copy MCP URL' }).click();
      await expect.poll(() => page.getByRole('status').filter({ hasText: 'Could not copy' }).count()).toBe(1);
      expect(await page.evaluate<string>('String(window.getSelection())')).toBe(resource);

      await shootBothWidths(chromium, 'apps-empty');
      expect(chromium.offLoopback).toEqual([]);
    }, 90_000);

    it('lists an MCP client allowed through the hub, copies its configuration, and revokes it', async () => {
      const page = chromium.page;
      await chromium.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: hubUrl });

      const { oauth, connected } = await authorizeClient(page, CLIENT_NAME);
      expect((await connected.listTools()).tools.map((tool) => tool.name)).toContain('everything__echo');
      const clientId = oauth.clientInformation()?.client_id ?? '';
      const refreshToken = oauth.tokens()?.refresh_token ?? '';
      expect(clientId).not.toBe('');
      expect(refreshToken).not.toBe('');

      // The same browser session, now on the page: the client is listed by its name.
      await page.goto(hubUrl);
      await page.getByRole('heading', { name: 'Servers', level: 1 }).waitFor();
      await openAppsScreen(page);
      const item = page
        .getByRole('listitem')
        .filter({ has: page.getByRole('heading', { name: CLIENT_NAME }) });
      await item.waitFor();
      const itemText = (await item.textContent()) ?? '';
      expect(itemText).toContain(clientId);
      expect(itemText).toContain(new URL(clientSite.origin).host);
      expect(itemText).toContain(`${hubUrl}/mcp`);
      expect(await page.getByRole('heading', { name: 'No apps yet' }).count()).toBe(0);

      // The URL is the metadata's resource, and Copy puts exactly that on the clipboard.
      const resource = await resourceOf(hubUrl, '/mcp');
      expect(await page.getByTestId('copy-text').first().textContent()).toBe(resource);
      await page.getByRole('button', { name: 'Copy MCP URL' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: /^Copied$/ })
        .waitFor();
      expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(resource);

      // Claude Code's tab is first; its command is copied exactly.
      const tabs = page.getByRole('tablist', { name: 'Configuration for your client' });
      expect(await tabs.getByRole('tab').allTextContents()).toEqual([
        'Claude Code',
        'VS Code',
        'Cursor',
        'Claude Desktop',
        'LibreChat',
        'MCP Inspector',
      ]);
      await page.getByRole('button', { name: 'Copy Claude Code configuration' }).click();
      await expect
        .poll(() => page.evaluate<string>('navigator.clipboard.readText()'))
        .toBe(`claude mcp add --transport http switchboard ${resource}`);

      // By keyboard: arrows move between tabs (Radix), and the panel shows VS Code's file.
      await tabs.getByRole('tab', { name: 'Claude Code' }).focus();
      await page.keyboard.press('ArrowRight');
      const vscode = page.getByRole('tabpanel', { name: 'VS Code' });
      await vscode.waitFor();
      expect(JSON.parse((await vscode.getByTestId('copy-text').textContent()) ?? '')).toEqual({
        servers: { switchboard: { type: 'http', url: resource } },
      });
      await page.keyboard.press('Tab');
      await page.getByRole('button', { name: 'Copy VS Code configuration' }).press('Enter');
      await expect
        .poll(
          async () => JSON.parse(await page.evaluate<string>('navigator.clipboard.readText()')) as unknown,
        )
        .toEqual({ servers: { switchboard: { type: 'http', url: resource } } });

      // One server's endpoint: its own metadata's resource, in every configuration.
      await page.getByLabel('Endpoint').selectOption('everything');
      const serverResource = await resourceOf(hubUrl, '/mcp/servers/everything');
      await expect.poll(() => page.getByTestId('copy-text').first().textContent()).toBe(serverResource);
      await tabs.getByRole('tab', { name: 'LibreChat' }).click();
      expect(
        await page.getByRole('tabpanel', { name: 'LibreChat' }).getByTestId('copy-text').textContent(),
      ).toBe(`mcpServers:\n  switchboard-everything:\n    type: streamable-http\n    url: ${serverResource}`);
      await page.getByLabel('Endpoint').selectOption({ label: 'All your tools' });
      await expect.poll(() => page.getByTestId('copy-text').first().textContent()).toBe(resource);

      await shootBothWidths(chromium, 'apps-one-client');

      // Revoke asks first; Cancel keeps the app.
      await item.getByRole('button', { name: `Revoke ${CLIENT_NAME}` }).click();
      const dialog = page.getByRole('dialog', { name: `Revoke ${CLIENT_NAME}?` });
      await dialog.waitFor();
      await chromium.screenshot('web-apps-revoke-dialog');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      expect(await item.count()).toBe(1);

      await item.getByRole('button', { name: `Revoke ${CLIENT_NAME}` }).click();
      await dialog.getByRole('button', { name: 'Revoke' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `${CLIENT_NAME} can no longer use your tools.` })
        .waitFor();
      await page.getByRole('heading', { name: 'No apps yet' }).waitFor();
      expect(await item.count()).toBe(0);
      // The Revoke button went with the app: the focus is on the list's heading, not lost.
      await expect
        .poll(() => page.evaluate<string>('document.activeElement.textContent'))
        .toBe('Apps you allowed');
      await chromium.screenshot('web-apps-revoked');

      // The hub took it back: the refresh token is refused, and the client's next call fails.
      const metadata = (await (await fetch(`${hubUrl}/.well-known/oauth-authorization-server`)).json()) as {
        token_endpoint: string;
      };
      const refreshed = await fetch(metadata.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: clientId,
        }),
      });
      expect(refreshed.status).toBe(400);
      expect(((await refreshed.json()) as { error: string }).error).toBe('invalid_grant');
      // The client's next call meets a 401; the SDK tries its refresh token, which the hub refuses.
      await expect(connected.listTools()).rejects.toBeInstanceOf(InvalidGrantError);
      const listed = await page.evaluate<unknown>(
        "fetch('/api/auth/clients').then((response) => response.json())",
      );
      expect(listed).toEqual({ clients: [] });
      expect(chromium.offLoopback).toEqual([]);
    }, 120_000);
    it("shows a client's own name as text however it is written, and says so when a revoke finds nothing left", async () => {
      const page = chromium.page;
      const dialogs: string[] = [];
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      // A client picks its own name: markup in it, and one long enough to overflow a phone.
      const markupName = 'Markup <img src=x onerror=alert(1)> App';
      const longName = `Long${'-name'.repeat(30)}`;
      await authorizeClient(page, markupName);
      await authorizeClient(page, longName);
      await page.goto(hubUrl);
      await page.getByRole('heading', { name: 'Servers', level: 1 }).waitFor();
      await openAppsScreen(page);

      const markupItem = page
        .getByRole('listitem')
        .filter({ has: page.getByRole('heading', { name: markupName }) });
      await markupItem.waitFor();
      expect(await markupItem.getByRole('heading').textContent()).toBe(markupName);
      expect(await page.locator('main img, main script').count()).toBe(0);
      const longItem = page
        .getByRole('listitem')
        .filter({ has: page.getByRole('heading', { name: longName }) });
      await longItem.waitFor();
      await shootBothWidths(chromium, 'apps-untrusted-names');

      // Another tab revokes the markup client first; this tab's Revoke then meets the hub's 404.
      const other = await chromium.context.newPage();
      await other.goto(`${hubUrl}/apps`);
      const otherItem = other
        .getByRole('listitem')
        .filter({ has: other.getByRole('heading', { name: markupName }) });
      await otherItem.getByRole('button', { name: /^Revoke/ }).click();
      await other.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
      await other.getByRole('status').filter({ hasText: 'can no longer use your tools' }).waitFor();
      await other.close();

      await markupItem.getByRole('button', { name: `Revoke ${markupName}` }).click();
      const dialog = page.getByRole('dialog', { name: `Revoke ${markupName}?` });
      await dialog.getByRole('button', { name: 'Revoke' }).click();
      const alert = dialog.getByRole('alert');
      expect(await alert.locator('p').first().textContent()).toBe('No authorization of this client');
      expect(await alert.textContent()).toContain('already ended');
      await chromium.screenshot('web-apps-revoke-failed');
      // Closing the dialog brings the list up to date: the app is gone, the other one stays.
      await page.keyboard.press('Escape');
      await markupItem.waitFor({ state: 'detached' });
      expect(await longItem.count()).toBe(1);
      expect(dialogs).toEqual([]);
      expect(chromium.offLoopback).toEqual([]);
    }, 120_000);
  });
});
