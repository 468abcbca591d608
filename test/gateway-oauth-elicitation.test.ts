import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ElicitationCompleteNotificationSchema,
  ElicitRequestSchema,
  ToolListChangedNotificationSchema,
  type ClientCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashPassword } from '../src/auth/index.js';
import { authorizeInBrowser, CookieJar } from './peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { freePort, textOf } from './support/mcp-helpers.js';

/**
 * Issue 6 §5: a tool whose server needs the user's OAuth. A client that declared URL elicitation
 * is sent the hub's sign-in link and the call completes once the user has authorized in a browser;
 * other clients get a tool error with the link. Real AS (oidc-provider), real protected server.
 */
describe('authorization needed upstream, through /mcp', () => {
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let hub: TestHub;
  let publicUrl: string;
  const clients: Client[] = [];

  async function connect(email: string, capabilities: ClientCapabilities): Promise<Client> {
    const token = await hub.userToken(email);
    const transport = new StreamableHTTPClientTransport(new URL(`${publicUrl}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'oauth-elicitation-test', version: '1.0.0' }, { capabilities });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  /** What a person does with the link: signs in to the hub, approves at the AS, lands on the callback. */
  async function openInBrowser(link: string, email: string, password: string, login: 'alice' | 'bob') {
    const jar = new CookieJar();
    /** One navigation of this browser: its cookies go along, its Set-Cookies are kept. */
    const navigate = async (url: string, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      const cookie = jar.header(url);
      if (cookie !== '') headers.set('cookie', cookie);
      const response = await fetch(url, { ...init, headers, redirect: 'manual' });
      jar.store(url, response.headers);
      return response;
    };
    // No hub session yet: the link sends the browser to sign in, and the sign-in back to the link.
    const toSignIn = await navigate(link);
    expect(toSignIn.status).toBe(303);
    const signInUrl = new URL(toSignIn.headers.get('location') ?? '', link);
    const signedIn = await navigate(new URL('/auth/signin', signInUrl).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams({
        email,
        password,
        returnTo: signInUrl.searchParams.get('returnTo') ?? '',
      }).toString(),
    });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toBe(link);
    const toAs = await navigate(link);
    expect(toAs.status).toBe(302);
    const { callbackUrl } = await authorizeInBrowser(toAs.headers.get('location') ?? '', {
      loginHint: login,
      redirectUriPrefix: `${publicUrl}/api/mcp/secure/oauth/callback`,
      jar,
    });
    const landed = await navigate(callbackUrl);
    return landed.headers.get('location') ?? '';
  }

  beforeAll(async () => {
    as = await startAuthorizationServer({ accessTokenTtlSeconds: 300 });
    mcp = await startProtectedMcpServer(as);
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    hub = await startTestHub({
      env: { PUBLIC_URL: publicUrl },
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
    for (const email of ['alice@example.com', 'bob@example.com']) {
      await hub.repos.users.create({
        email,
        role: 'USER',
        passwordHash: await hashPassword('correct horse'),
      });
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.dispose();
    await mcp?.stop();
    await as?.stop();
  });

  it('a client without URL elicitation gets a tool error carrying the sign-in link', async () => {
    const client = await connect('bob@example.com', {});
    // Not authorized yet: the server's tools are unknown to bob, and a stand-in offers to connect it.
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('secure__authorize');
    expect(names).not.toContain('secure__whoami');
    const result = await client.callTool({ name: 'secure__authorize', arguments: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      new RegExp(`needs your authorization.*${publicUrl}/api/mcp/oauth/link/[A-Za-z0-9_-]{43,}`),
    );
    // The link is the hub's, never the authorization server's URL with its state.
    expect(textOf(result)).not.toContain('state=');
  });

  it('a client with URL elicitation is asked to open the link, and the call completes after the browser part', async () => {
    const client = await connect('alice@example.com', { elicitation: { url: {} } });
    const links: string[] = [];
    const completed: string[] = [];
    let browser: Promise<string> | undefined;
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      expect(request.params.mode).toBe('url');
      const params = request.params as { url: string; elicitationId: string };
      links.push(params.url);
      // The user agrees to open the link; the browser part runs while the tool call waits.
      browser = openInBrowser(params.url, 'alice@example.com', 'correct horse', 'alice');
      return { action: 'accept' };
    });
    client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => {
      completed.push(n.params.elicitationId);
    });
    let listChanged = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      listChanged += 1;
    });
    const result = await client.callTool({ name: 'secure__authorize', arguments: {} });
    expect(await browser).toBe(`${publicUrl}/oauth/success?serverName=secure`);
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toMatch(/'secure' is connected: \d+ tools are now available/);
    expect(links).toHaveLength(1);
    expect(links[0]).toMatch(new RegExp(`^${publicUrl}/api/mcp/oauth/link/`));
    expect(completed).toHaveLength(1);
    await vi.waitFor(() => expect(listChanged).toBeGreaterThan(0));
    // The server's own tools replace the stand-in, and answer as alice.
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('secure__whoami');
    expect(names).not.toContain('secure__authorize');
    const whoami = await client.callTool({ name: 'secure__whoami', arguments: {} });
    expect(textOf(whoami)).toContain('alice');
    expect(links).toHaveLength(1);
  });

  it('a known tool whose authorization is gone asks again in the call, and the call then completes', async () => {
    const client = await connect('alice@example.com', { elicitation: { url: {} } });
    let browser: Promise<string> | undefined;
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      const params = request.params as { url: string };
      browser = openInBrowser(params.url, 'alice@example.com', 'correct horse', 'alice');
      return { action: 'accept' };
    });
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('secure__whoami');
    // alice revokes through the REST API: her tokens and connections are gone.
    const revoked = await fetch(`${publicUrl}/api/mcp/secure/disconnect?revoke=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await hub.userToken('alice@example.com')}` },
    });
    expect(revoked.status).toBe(200);
    const result = await client.callTool({ name: 'secure__whoami', arguments: {} });
    expect(await browser).toBe(`${publicUrl}/oauth/success?serverName=secure`);
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toContain('alice');
  });

  it('the per-server endpoint of a server not yet authorized refuses the session with the sign-in link', async () => {
    const token = await hub.userToken('bob@example.com');
    const transport = new StreamableHTTPClientTransport(new URL(`${publicUrl}/mcp/servers/secure`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'per-server', version: '1.0.0' });
    await expect(client.connect(transport)).rejects.toThrow(
      new RegExp(
        `needs your authorization: open ${publicUrl}/api/mcp/oauth/link/[A-Za-z0-9_-]{43} in a browser`,
      ),
    );
  });

  it('a user who declines gets a tool error with the link, and nothing waits', async () => {
    const client = await connect('bob@example.com', { elicitation: { url: {} } });
    client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'decline' }));
    const result = await client.callTool({ name: 'secure__authorize', arguments: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/was not given/);
  });
});
