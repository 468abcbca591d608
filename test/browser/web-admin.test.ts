import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdioCommand, startEverything, type RunningEverything } from '../peers/everything.js';
import { authorizeInBrowser } from '../peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from '../peers/oauth-as.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from '../peers/protected-mcp.js';
import { describeInChromium } from '../support/chromium.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { freePort } from '../support/mcp-helpers.js';
import { cheapPasswordHash } from './cheap-password.js';
import {
  DESKTOP,
  PHONE,
  seriousViolations,
  shootBothWidths,
  signInThroughPage,
  webPageBuilt,
} from './web-page.js';

const ADMIN_EMAIL = 'root@example.com';
const PASSWORD = 'correct horse battery staple';

const built = await webPageBuilt('the Admin screen suite');

/**
 * The Admin screen in Chromium against a real hub: Alice (a user) creates a server through the
 * REST API with her bearer token and fails to reach a server whose port is closed; the admin
 * signs in and finds her act in the audit log, changes her role, reads every server's health, and
 * revokes the shared authorization an admin gave a protected server at a real authorization server.
 */
(built ? describe : describe.skip)('the Admin screen', () => {
  let hub: TestHub;
  let hubUrl: string;
  let everything: RunningEverything;
  let as: TestAuthorizationServer;
  let protectedMcp: ProtectedMcpServer;
  let aliceId: string;
  let bobId: string;

  const api = (path: string, token: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${hubUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });

  beforeAll(async () => {
    const port = await freePort();
    hubUrl = `http://127.0.0.1:${port}`;
    everything = await startEverything('streamableHttp');
    as = await startAuthorizationServer();
    protectedMcp = await startProtectedMcpServer(as);
    const closedPort = await freePort();
    const stdio = everythingStdioCommand();
    hub = await startTestHub({
      env: { PUBLIC_URL: hubUrl },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1:${new URL(everything.url).port}', '127.0.0.1:${new URL(as.issuer).port}']
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: false } }
mcpServers:
  everything:
    command: ${JSON.stringify(stdio.command)}
    args: ${JSON.stringify(stdio.args)}
  broken:
    type: streamable-http
    url: http://127.0.0.1:${closedPort}/mcp
    startup: false
    initTimeout: 3000
  team:
    type: streamable-http
    url: ${protectedMcp.url}
    requiresOAuth: true
    sharedOAuth: true
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port, host: '127.0.0.1' });
    await hub.repos.users.create({
      email: ADMIN_EMAIL,
      role: 'ADMIN',
      passwordHash: cheapPasswordHash(PASSWORD),
    });
    const alice = await hub.userToken('alice@example.com');
    const admin = await hub.userToken(ADMIN_EMAIL, 'ADMIN');
    aliceId = (await hub.repos.users.findByEmail('alice@example.com'))!.id;
    bobId = (await hub.repos.users.create({ email: 'bob@example.com' })).id;

    const created = await api('/api/mcp/servers', alice, {
      method: 'POST',
      body: { config: { type: 'http', url: everything.url, title: 'Alice Tools' } },
    });
    expect(created.status).toBe(201);
    expect(
      await (await api('/api/mcp/alice-tools/reinitialize', alice, { method: 'POST' })).json(),
    ).toMatchObject({
      success: true,
    });
    expect(await (await api('/api/mcp/broken/reinitialize', alice, { method: 'POST' })).json()).toMatchObject(
      {
        success: false,
      },
    );
    // The admin authorizes the shared server once for everyone (the AS's login, the hub's callback).
    const started = await api('/api/mcp/team/reinitialize', admin, { method: 'POST' });
    const { oauthUrl } = (await started.json()) as { oauthUrl: string };
    const { callbackUrl } = await authorizeInBrowser(oauthUrl, {
      loginHint: 'alice',
      redirectUriPrefix: `${hubUrl}/api/mcp/team/oauth/callback`,
    });
    const binding = started.headers
      .getSetCookie()
      .map((cookie) => cookie.split(';')[0])
      .join('; ');
    const done = await fetch(callbackUrl, { headers: { cookie: binding }, redirect: 'manual' });
    expect(done.headers.get('location')).toBe(`${hubUrl}/oauth/success?serverName=team`);
    // Enough account changes for the audit log to need a second page.
    for (let i = 0; i < 13; i += 1) {
      for (const role of ['ADMIN', 'USER']) {
        const res = await api(`/api/admin/users/${bobId}`, admin, { method: 'PATCH', body: { role } });
        expect(res.status).toBe(200);
      }
    }
  }, 90_000);

  afterAll(async () => {
    await hub?.dispose();
    await everything?.stop();
    await protectedMcp?.stop();
    await as?.stop();
  });

  /** Signs the admin in and opens one Admin tab by its name. */
  async function openTab(page: Page, tab: string): Promise<void> {
    await signInThroughPage(page, hubUrl, ADMIN_EMAIL, PASSWORD);
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Admin' }).click();
    await page.getByRole('heading', { name: 'Admin', level: 1 }).waitFor();
    await page.getByRole('tab', { name: tab }).click();
    await page.getByRole('heading', { name: tab, level: 2 }).waitFor();
  }

  describeInChromium('in Chromium', (chromium) => {
    it('audit log: filters by action and by who acted, shows the user, and loads more', async () => {
      const page = chromium.page;
      await openTab(page, 'Audit log');
      expect(page.url()).toBe(`${hubUrl}/admin/audit`);
      const rows = page.getByRole('region', { name: 'Audit log' }).getByRole('row');
      // Unfiltered: a first page of 25 events and a header row.
      await expect.poll(() => rows.count()).toBe(26);

      await page.getByLabel('Action').selectOption('server.create');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await expect.poll(() => rows.count()).toBe(2);
      const entry = rows.nth(1);
      expect(await entry.getByRole('cell').nth(1).innerText()).toContain('alice@example.com');
      expect(await entry.getByRole('cell').nth(1).innerText()).toContain(aliceId);
      expect(await entry.getByRole('cell').nth(2).innerText()).toBe('server.create');
      expect(await entry.getByRole('cell').nth(3).innerText()).toBe('Server alice-tools');
      expect(await entry.getByRole('cell').nth(4).innerText()).toContain('type: streamable-http');
      expect(await page.getByRole('status').filter({ hasText: 'the filters' }).innerText()).toBe(
        '1 event matches the filters.',
      );
      await shootBothWidths(chromium, 'admin-audit');
      // On a phone the same event is a card (the table is hidden, so it is met once).
      await page.setViewportSize(PHONE);
      const cards = page.getByRole('list', { name: 'Audit log' }).getByRole('listitem');
      await expect.poll(() => cards.count()).toBe(1);
      expect(await cards.first().innerText()).toMatch(
        /server\.create[\s\S]*alice@example\.com[\s\S]*alice-tools/,
      );
      expect(await rows.count()).toBe(0);
      await page.setViewportSize(DESKTOP);

      // Who acted, by email: Alice did nothing else; an unknown email is named beside its field.
      await page.getByLabel('Action').selectOption('');
      await page.getByLabel('Who acted').fill('alice@example.com');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await expect.poll(() => rows.count()).toBe(2);
      await page.getByLabel('Who acted').fill('nobody@example.com');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.getByText('No account has the email nobody@example.com.').waitFor();
      const described = await page.getByLabel('Who acted').getAttribute('aria-describedby');
      expect(described).toBeTruthy();

      // Every account change: 26 role changes, 25 on the first page, the last one after Load more.
      await page.getByLabel('Who acted').fill('');
      await page.getByLabel('Action').selectOption('user.');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await expect.poll(() => rows.count()).toBe(26);
      await page.getByRole('button', { name: 'Load more' }).click();
      await expect.poll(() => rows.count()).toBe(27);
      expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
      expect(chromium.offLoopback).toEqual([]);
    }, 120_000);

    it('users: lists accounts, changes a role, shows the hub’s refusal, removes after confirming', async () => {
      const page = chromium.page;
      await openTab(page, 'Users');
      const card = (email: string) =>
        page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: email }) });
      await card('alice@example.com').waitFor();
      expect(await card(ADMIN_EMAIL).getByRole('heading').innerText()).toBe(`${ADMIN_EMAIL} (you)`);
      await shootBothWidths(chromium, 'admin-users');

      await card('alice@example.com').getByLabel('Role').selectOption('ADMIN');
      await page.getByRole('status').filter({ hasText: 'Saved: alice@example.com' }).waitFor();
      expect((await hub.repos.users.findById(aliceId))?.role).toBe('ADMIN');
      await card('alice@example.com').getByLabel('Role').selectOption('USER');
      await expect.poll(async () => (await hub.repos.users.findById(aliceId))?.role).toBe('USER');

      // The hub refuses an admin's change to their own account: its words, beside the account.
      await card(ADMIN_EMAIL)
        .getByRole('button', { name: `Disable ${ADMIN_EMAIL}` })
        .click();
      // The alert region may exist a moment before the hub's answer fills it.
      await expect
        .poll(() => card(ADMIN_EMAIL).getByRole('alert').innerText())
        .toContain('You cannot change your own account');

      // Find by email, then remove Bob behind the dialog.
      await page.getByLabel('Find by email').fill('bob@example.com');
      await page.getByRole('button', { name: 'Find' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: 'The account with the email bob@example.com.' })
        .waitFor();
      await card('bob@example.com').getByRole('button', { name: 'Remove bob@example.com' }).click();
      const dialog = page.getByRole('dialog', { name: 'Remove bob@example.com?' });
      await dialog.waitFor();
      expect(await seriousViolations(page)).toEqual([]);
      await dialog.getByRole('button', { name: 'Remove account' }).click();
      await dialog.waitFor({ state: 'detached' });
      await page
        .getByRole('status')
        .filter({ hasText: 'No account has the email bob@example.com.' })
        .waitFor();
      expect(await hub.repos.users.findById(bobId)).toBeNull();
    }, 120_000);

    it('roles: shows what users and administrators may do with servers', async () => {
      const page = chromium.page;
      // By keyboard: the tabs are one stop; arrows move between them and Enter opens one.
      await openTab(page, 'Users');
      await page.getByRole('tab', { name: 'Users' }).focus();
      await page.keyboard.press('ArrowRight');
      // Focus moves once Radix has handled the key; wait for it rather than read at once.
      await expect.poll(() => page.evaluate('document.activeElement?.textContent')).toBe('Roles');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Roles', level: 2 }).waitFor();
      expect(page.url()).toBe(`${hubUrl}/admin/roles`);
      const users = page.getByRole('region', { name: 'Users' });
      await users.getByText('Add their own servers').waitFor();
      const item = users.getByRole('listitem').filter({ hasText: 'Share servers with everyone' });
      expect(await item.innerText()).toContain('Not allowed');
      expect(await users.getByRole('listitem').filter({ hasText: 'Use servers' }).innerText()).toContain(
        'Allowed',
      );
      await shootBothWidths(chromium, 'admin-roles');
    }, 60_000);

    it('servers: every server with its counts, the failing one’s last error, the shared authorization', async () => {
      const page = chromium.page;
      await openTab(page, 'Servers');
      const card = (name: string) =>
        page.getByRole('listitem').filter({ has: page.getByRole('heading', { name, exact: true }) });
      await card('everything').waitFor();
      const count = (name: string, label: string) =>
        card(name)
          .locator('dt', { hasText: new RegExp(`^${label}$`) })
          .locator('xpath=following-sibling::dd');
      expect(await card('everything').locator('.state').first().innerText()).toBe('Connected');
      expect(await count('everything', 'Connected').innerText()).toBe('1');
      expect(await card('everything').innerText()).toContain('one connection shared by everyone');
      expect(await count('alice-tools', 'Users connected').innerText()).toBe('1');
      expect(await card('alice-tools').innerText()).toContain('Added by alice@example.com');
      expect(await card('broken').locator('.state').first().innerText()).toBe('Failing');
      expect(await card('broken').getByText('Last error:').locator('..').innerText()).toContain(
        'MCP server is unavailable (ECONNREFUSED)',
      );
      const team = card('team');
      expect(await team.innerText()).toContain('Shared authorization: Authorized');
      expect(await team.innerText()).toMatch(/Expires .+ · Scope: .*mcp:tools/);
      await shootBothWidths(chromium, 'admin-servers');
      for (const token of as.mintedTokens()) expect(await page.content()).not.toContain(token);

      // Revoke, behind its dialog: revoked at the authorization server, gone from the hub.
      const revocations = as.counts.revocations;
      await team.getByRole('button', { name: 'Revoke the shared authorization of team' }).click();
      const dialog = page.getByRole('dialog', { name: 'Revoke the shared authorization of team?' });
      await dialog.getByRole('button', { name: 'Revoke' }).click();
      await dialog.waitFor({ state: 'detached' });
      await team.getByText('Not authorized').waitFor();
      expect(as.counts.revocations).toBeGreaterThan(revocations);
      expect(await team.getByRole('button', { name: /Revoke/ }).count()).toBe(0);

      // It refreshes by itself: a second failure shows without touching the page.
      const alice = await hub.userToken('alice@example.com');
      await api('/api/mcp/broken/reinitialize', alice, { method: 'POST' });
      await card('broken').getByText('2 failures since this instance started').waitFor({ timeout: 15_000 });
      expect(chromium.offLoopback).toEqual([]);
    }, 120_000);
  });
});
