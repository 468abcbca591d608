import { createHash, randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startProbeServer, type ProbeServer } from '../peers/probe-server.js';
import { describeInChromium } from '../support/chromium.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { freePort } from '../support/mcp-helpers.js';
import { cheapPasswordHash } from './cheap-password.js';
import { MemoryOAuthClient } from './memory-oauth-client.js';
import { FRAMING_PAGE, loadInFrame, startOtherOrigin, type OtherOrigin } from './other-origin.js';

const EMAIL = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';

describeInChromium('an MCP client authorized in Chromium', (chromium) => {
  let hub: TestHub;
  let hubUrl: string;
  let probe: ProbeServer;
  /** The client's side: its loopback redirect URI and a page that frames whatever it is given. */
  let client: OtherOrigin;
  const clients: Client[] = [];

  beforeAll(async () => {
    probe = await startProbeServer();
    client = await startOtherOrigin({
      '/callback': '<!doctype html><title>client</title><h1>You can close this window</h1>',
      '/frame': FRAMING_PAGE,
    });
    const port = await freePort();
    hubUrl = `http://127.0.0.1:${port}`;
    hub = await startTestHub({
      env: { PUBLIC_URL: hubUrl },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  probe:
    type: streamable-http
    url: ${probe.url}
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port, host: '127.0.0.1' });
    await hub.repos.users.create({ email: EMAIL, role: 'USER', passwordHash: cheapPasswordHash(PASSWORD) });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.dispose();
    await Promise.all([probe?.stop(), client?.stop()]);
  });

  /** Signs in on the hub's sign-in page the browser is on; resolves once the next page has loaded. */
  async function signIn(): Promise<void> {
    const page = chromium.page;
    await page.locator('input[name="email"]').fill(EMAIL);
    await page.locator('input[name="password"]').fill(PASSWORD);
    await Promise.all([page.waitForNavigation(), page.locator('button[type="submit"]').click()]);
  }

  it('OA-16: SDK client → sign-in → consent page → Allow → code on the loopback redirect → tools/list', async () => {
    const page = chromium.page;
    const oauth = new MemoryOAuthClient(`${client.origin}/callback`, 'Chromium Test Client');
    const transport = new StreamableHTTPClientTransport(new URL(`${hubUrl}/mcp`), { authProvider: oauth });
    // The SDK meets the 401, discovers the hub's AS, registers, and asks for a browser.
    await expect(
      new Client({ name: 'chromium-test', version: '1.0.0' }).connect(transport),
    ).rejects.toBeInstanceOf(UnauthorizedError);

    // No hub session yet: the authorize request ends on the sign-in page, coming back afterwards.
    await page.goto(oauth.authorizationUrl.href);
    const signInUrl = new URL(page.url());
    expect(signInUrl.pathname).toBe('/auth/signin');
    expect(signInUrl.searchParams.get('returnTo')).toMatch(/^\/oauth2\/interaction\/[\w-]+$/);
    await chromium.screenshot('authorize-sign-in');

    await signIn();
    const consentUrl = page.url();
    // Back at the AS, which finished the login step and opened the consent step (an interaction of its own).
    expect(new URL(consentUrl).pathname).toMatch(/^\/oauth2\/interaction\/[\w-]+$/);
    expect(await page.locator('h1').textContent()).toBe('Allow access?');
    const consent = (await page.locator('body').textContent()) ?? '';
    expect(consent).toContain('Chromium Test Client');
    expect(consent).toContain(EMAIL);
    expect(consent).toContain(new URL(client.origin).host);
    await chromium.screenshot('authorize-consent');
    // On a phone: nothing wider than the screen (the buttons stay reachable).
    await page.setViewportSize({ width: 360, height: 640 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    await chromium.screenshot('authorize-consent-phone');
    // Nothing has reached the client yet: no code without the click.
    expect(client.requested).not.toContain('/callback');

    // Clickjacking: the consent page, with this browser's cookies, framed by another origin.
    const framer = await chromium.context.newPage();
    const framed = await loadInFrame(
      framer,
      `${client.origin}/frame?src=${encodeURIComponent(consentUrl)}`,
      consentUrl,
    );
    expect(framed.failure).toBe('net::ERR_BLOCKED_BY_RESPONSE');
    expect(framed.heading).toBeNull();
    expect(framed.cspMessages.join('\n')).toContain("frame-ancestors 'none'");
    await chromium.screenshot('authorize-consent-framed', framer);
    await framer.close();

    await Promise.all([
      page.waitForURL(`${client.origin}/callback?**`),
      page.locator('form[action$="/approve"] button[type="submit"]').click(),
    ]);
    const landed = new URL(page.url());
    const code = landed.searchParams.get('code');
    expect(code).toMatch(/^[\w-]{20,}$/);
    // RFC 9207: the response names the issuer, so a mix-up is detectable by the client.
    expect(landed.searchParams.get('iss')).toBe(hubUrl);

    await transport.finishAuth(code ?? '');
    const connected = new Client({ name: 'chromium-test', version: '1.0.0' });
    clients.push(connected);
    await connected.connect(
      new StreamableHTTPClientTransport(new URL(`${hubUrl}/mcp`), { authProvider: oauth }),
    );
    const { tools } = await connected.listTools();
    expect(tools.map((tool) => tool.name)).toContain('probe__whoami');
    expect(chromium.offLoopback).toEqual([]);
  });

  it('OA-16: a client registered with a redirect to another site (and markup in its name) gets nothing without the click, and Deny sends only access_denied', async () => {
    const page = chromium.page;
    const registration = await fetch(`${hubUrl}/oauth2/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        // A client picks its own name: markup in it must stay text on the consent page.
        client_name: 'Totally Legit Client <img src=x onerror=alert(1)>',
        redirect_uris: ['https://evil.example/cb'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      }),
    });
    expect(registration.status).toBe(201);
    const { client_id: clientId } = (await registration.json()) as { client_id: string };
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(`${hubUrl}/oauth2/authorize`);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: 'https://evil.example/cb',
      scope: 'mcp',
      resource: `${hubUrl}/mcp`,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state: 'attacker-state',
    }).toString();

    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(authorize.href);
    await signIn();
    expect(await page.locator('h1').textContent()).toBe('Allow access?');
    const consent = (await page.locator('body').textContent()) ?? '';
    expect(await page.locator('strong').first().textContent()).toBe(
      'Totally Legit Client <img src=x onerror=alert(1)>',
    );
    expect(await page.locator('img, script').count()).toBe(0);
    expect(consent).toContain('evil.example');
    await chromium.screenshot('authorize-consent-other-site');
    expect(chromium.offLoopback).toEqual([]);

    // Deny: the browser is sent on to the client with an error and no code (the harness refuses
    // the request there, as the host is not loopback, and records it).
    const [request] = await Promise.all([
      page.waitForRequest((candidate) => candidate.url().startsWith('https://evil.example/')),
      page.locator('form[action$="/deny"] button[type="submit"]').click(),
    ]);
    const sent = new URL(request.url());
    expect(sent.searchParams.get('error')).toBe('access_denied');
    expect(sent.searchParams.has('code')).toBe(false);
    expect(sent.searchParams.get('state')).toBe('attacker-state');
    expect(dialogs).toEqual([]);
    expect(chromium.offLoopback).toEqual(['https://evil.example']);
  });
});
