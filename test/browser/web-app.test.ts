import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installErrorHandlers, webAppRoutes } from '../../src/http/index.js';
import { describeInChromium } from '../support/chromium.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { freePort } from '../support/mcp-helpers.js';
import { everythingStdioCommand } from '../peers/everything.js';
import { cheapPasswordHash } from './cheap-password.js';
import { shootBothWidths, webPageBuilt } from './web-page.js';

// An admin: `everything` runs over stdio on one connection shared by all, which only an admin may close.
const EMAIL = 'admin@example.com';
const PASSWORD = 'correct horse battery staple';

const built = await webPageBuilt('the web page suite');

describe('the web page, not built', () => {
  it('says at / how to build it, and keeps 404s elsewhere', async () => {
    const app = Fastify();
    try {
      installErrorHandlers(app);
      await app.register(webAppRoutes, { root: '/nonexistent/switchboard-web-dist/' });
      const home = await app.inject({ url: '/' });
      expect(home.statusCode).toBe(503);
      expect(home.headers['content-type']).toContain('text/plain');
      expect(home.body).toContain('npm install');
      const other = await app.inject({ url: '/servers' });
      expect(other.statusCode).toBe(404);
      expect(other.json()).toMatchObject({ code: 'HUB_ERR_ROUTE_NOT_FOUND' });
    } finally {
      await app.close();
    }
  });
});

(built ? describe : describe.skip)('the web page', () => {
  let hub: TestHub;
  let hubUrl: string;

  beforeAll(async () => {
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
    await hub.repos.users.create({ email: EMAIL, role: 'ADMIN', passwordHash: cheapPasswordHash(PASSWORD) });
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
  });

  describe('served by the hub', () => {
    it('serves the page with a strict CSP at / and at client routes; hashed assets are cached for good', async () => {
      for (const path of [
        '/',
        '/index.html',
        '/servers',
        '/servers/everything',
        '/explorer',
        '/my-servers',
        '/apps',
        '/admin/audit',
      ]) {
        const response = await fetch(`${hubUrl}${path}`);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toContain('text/html');
        expect(response.headers.get('cache-control')).toBe('no-cache');
        const csp = response.headers.get('content-security-policy') ?? '';
        expect(csp).toContain("script-src 'self'");
        expect(csp).toContain("frame-ancestors 'none'");
        expect(csp).not.toContain('unsafe-inline');
        const html = await response.text();
        expect(html).toContain('<div id="root">');
        // Vite's build has no inline script: every script tag names a file.
        expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      }
      // Each load gets its own style nonce, in the CSP and in the page's meta tag alike.
      const nonces = new Set<string>();
      for (let i = 0; i < 2; i += 1) {
        const response = await fetch(`${hubUrl}/servers`);
        const nonce = /style-src 'self' 'nonce-([A-Za-z0-9+/=]{24})'/.exec(
          response.headers.get('content-security-policy') ?? '',
        )?.[1];
        expect(nonce).toBeDefined();
        expect(await response.text()).toContain(`<meta name="style-nonce" content="${nonce}" />`);
        nonces.add(nonce ?? '');
      }
      expect(nonces.size).toBe(2);
      const html = await (await fetch(hubUrl)).text();
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      const asset = await fetch(`${hubUrl}${script}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toContain('javascript');
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    });

    it('keeps JSON 404s for API and protocol paths and for missing assets, and serves no file outside the build', async () => {
      for (const path of [
        '/some/deep/route',
        '/api/nothing-here',
        '/mcp/nothing/here/either',
        '/auth/nope',
        '/oauth/nope',
        '/oauth2/nope',
        '/.well-known/nope',
        '/docs/nope/nope',
        '/healthz/nope',
        '/assets/missing-abc123.js',
      ]) {
        const response = await fetch(`${hubUrl}${path}`);
        expect(response.status, path).toBe(404);
        const body = await response.text();
        expect(body, path).not.toContain('<div id="root">');
        // oidc-provider answers its own misses under /oauth2; the hub's handler answers the rest.
        if (!path.startsWith('/oauth2/'))
          expect(JSON.parse(body), path).toMatchObject({ code: 'HUB_ERR_ROUTE_NOT_FOUND' });
      }
      // Paths that climb out of the build, or name a file it does not have, are 404s, never a file
      // from elsewhere (inject sends the path as written; fetch would resolve the dots first).
      for (const url of [
        '/nope/../../etc/passwd',
        '/%2e%2e/package.json',
        '/..%2fpackage.json',
        '/assets/..%2f..%2fpackage.json',
        '/favicon.ico',
      ]) {
        const response = await hub.app.inject({ url });
        expect(response.statusCode, url).toBe(404);
        expect(response.json(), url).toMatchObject({ code: 'HUB_ERR_ROUTE_NOT_FOUND' });
      }
      // The API's own answers are unchanged.
      expect((await fetch(`${hubUrl}/api/auth/session`)).status).toBe(401);
      expect((await fetch(`${hubUrl}/healthz`)).status).toBe(200);
    });
  });

  describeInChromium('in Chromium', (chromium) => {
    it('signs in, lists everything connected, disconnects and reconnects it, and signs out', async () => {
      const page = chromium.page;
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));

      await page.goto(hubUrl);
      await page.getByRole('heading', { name: 'Sign in to Switchboard' }).waitFor();
      await shootBothWidths(chromium, 'signin');

      // A wrong password: the hub's message, the password cleared, still signed out.
      await page.getByLabel('Email', { exact: true }).fill(EMAIL);
      await page.getByLabel('Password', { exact: true }).fill('not the password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').waitFor();
      expect(await page.getByLabel('Password', { exact: true }).inputValue()).toBe('');
      await chromium.screenshot('web-signin-wrong-password');

      // By keyboard alone: type, Tab to the button, Enter.
      await page.getByLabel('Email', { exact: true }).fill(EMAIL);
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByLabel('Password', { exact: true }).press('Tab');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Servers', level: 1 }).waitFor();
      expect(await page.getByText(EMAIL).isVisible()).toBe(true);

      const card = page
        .getByRole('listitem')
        .filter({ has: page.getByRole('heading', { name: 'everything' }) });
      const state = card.getByTestId('connection-state');
      // The hub connected it at start; the page shows so once the status arrives.
      await card.locator('.state-connected').waitFor();
      expect(await state.textContent()).toBe('Connected');
      expect(await card.getByText(/^\d+ tools$/).textContent()).toMatch(/^[1-9]\d* tools$/);
      await shootBothWidths(chromium, 'servers-connected');

      await card.getByRole('button', { name: 'Disconnect' }).click();
      await card.locator('.state-disconnected').waitFor();
      expect(await state.textContent()).toBe('Disconnected');
      await shootBothWidths(chromium, 'servers-disconnected');

      await card.getByRole('button', { name: 'Reconnect' }).click();
      await card.locator('.state-connected').waitFor();
      expect(await state.textContent()).toBe('Connected');

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in to Switchboard' }).waitFor();
      const cookies = await chromium.context.cookies(hubUrl);
      expect(cookies.find((cookie) => cookie.name === 'sb_session')).toBeUndefined();

      // The only console error is the browser's note on the wrong password's 401.
      expect(problems.filter((text) => !text.includes('401'))).toEqual([]);
      expect(chromium.offLoopback).toEqual([]);
      // Three screens, each shot four ways and checked twice by axe-core: slow on a busy machine.
    }, 120_000);
  });
});
