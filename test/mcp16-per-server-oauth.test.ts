import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ElicitationCompleteNotificationSchema,
  ElicitRequestSchema,
  ErrorCode,
  McpError,
  type ClientCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/auth/index.js';
import { authorizeInBrowser, CookieJar } from './peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { freePort, textOf } from './support/mcp-helpers.js';

const PASSWORD = 'correct horse';
type Login = 'alice' | 'bob';

/**
 * Issue 16: a per-server session (`/mcp/servers/:name`) whose user's authorization of the server is
 * gone mid-session (revoked through REST) is asked again as on `/mcp`: URL elicitation inside the
 * request when the client declared it, then the request completes; else a tool error with the
 * sign-in link for `tools/call`, and for any other request a JSON-RPC error whose `data` carries
 * HUB_ERR_OAUTH_REQUIRED and the link. Never -32603. Real AS (oidc-provider), real protected server.
 */
describe('per-server endpoint: authorization gone mid-session', () => {
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let hub: TestHub;
  let publicUrl: string;
  const clients: Client[] = [];

  const cookiesOf = (res: LightMyRequestResponse): string =>
    res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');

  /** The user's first authorization, over REST: the answer's oauthUrl approved at the AS. */
  async function authorizeOverRest(email: string, login: Login): Promise<void> {
    const call = async () =>
      hub.app.inject({
        method: 'POST',
        url: '/api/mcp/secure/tools/whoami/call',
        headers: { authorization: `Bearer ${await hub.userToken(email)}` },
        payload: { arguments: {} },
      });
    const first = await call();
    expect(first.statusCode, first.body).toBe(401);
    const { callbackUrl } = await authorizeInBrowser(first.json<{ oauthUrl: string }>().oauthUrl, {
      loginHint: login,
      redirectUriPrefix: `${publicUrl}/api/mcp/secure/oauth/callback`,
    });
    const url = new URL(callbackUrl);
    const landed = await hub.app.inject({
      method: 'GET',
      url: `${url.pathname}${url.search}`,
      headers: { cookie: cookiesOf(first) },
    });
    expect(landed.headers.location).toContain('/oauth/success');
    expect((await call()).statusCode).toBe(200);
  }

  /** The user takes back the grant through REST: tokens and connections are gone. */
  async function revoke(email: string): Promise<void> {
    const revoked = await fetch(`${publicUrl}/api/mcp/secure/disconnect?revoke=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await hub.userToken(email)}` },
    });
    expect(revoked.status).toBe(200);
  }

  /** What a person does with an elicited link: signs in to the hub, approves at the AS, lands on the callback. */
  async function openInBrowser(link: string, email: string, login: Login): Promise<string> {
    const jar = new CookieJar();
    const navigate = async (url: string, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      const cookie = jar.header(url);
      if (cookie !== '') headers.set('cookie', cookie);
      const response = await fetch(url, { ...init, headers, redirect: 'manual' });
      jar.store(url, response.headers);
      return response;
    };
    const signInUrl = new URL((await navigate(link)).headers.get('location') ?? '', link);
    await navigate(new URL('/auth/signin', signInUrl).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams({
        email,
        password: PASSWORD,
        returnTo: signInUrl.searchParams.get('returnTo') ?? '',
      }).toString(),
    });
    const toAs = await navigate(link);
    expect(toAs.status).toBe(302);
    const { callbackUrl } = await authorizeInBrowser(toAs.headers.get('location') ?? '', {
      loginHint: login,
      redirectUriPrefix: `${publicUrl}/api/mcp/secure/oauth/callback`,
      jar,
    });
    return (await navigate(callbackUrl)).headers.get('location') ?? '';
  }

  /** A connected client of `/mcp/servers/secure` as the user `email`. */
  async function perServerClient(email: string, capabilities: ClientCapabilities): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(new URL(`${publicUrl}/mcp/servers/secure`), {
      requestInit: { headers: { authorization: `Bearer ${await hub.userToken(email)}` } },
    });
    const client = new Client({ name: 'mcp16-per-server-oauth', version: '1.0.0' }, { capabilities });
    clients.push(client);
    await client.connect(transport);
    return client;
  }

  /** The JSON-RPC error a request rejected with. */
  async function rejection(request: Promise<unknown>): Promise<McpError> {
    const failed: unknown = await request.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(McpError);
    return failed as McpError;
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
    for (const email of ['alice@example.com', 'bob@example.com', 'carol@example.com']) {
      await hub.repos.users.create({ email, role: 'USER', passwordHash: await hashPassword(PASSWORD) });
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.dispose();
    await mcp?.stop();
    await as?.stop();
  });

  it('a client with URL elicitation is asked inside the call, and the call completes after the grant', async () => {
    await authorizeOverRest('alice@example.com', 'alice');
    const client = await perServerClient('alice@example.com', { elicitation: { url: {} } });
    const asked: { url: string; browser: Promise<string> }[] = [];
    const completed: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      const params = request.params as { url: string; mode: string };
      expect(params.mode).toBe('url');
      asked.push({ url: params.url, browser: openInBrowser(params.url, 'alice@example.com', 'alice') });
      return { action: 'accept' };
    });
    client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => {
      completed.push(n.params.elicitationId);
    });
    expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toContain('alice');

    await revoke('alice@example.com');
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toContain('alice');
    expect(asked).toHaveLength(1);
    expect(asked[0]?.url).toMatch(new RegExp(`^${publicUrl}/api/mcp/oauth/link/`));
    expect(await asked[0]?.browser).toBe(`${publicUrl}/oauth/success?serverName=secure`);
    expect(completed).toHaveLength(1);
  });

  it('a request other than tools/call is asked by URL elicitation too, and then answers', async () => {
    await authorizeOverRest('carol@example.com', 'bob');
    const client = await perServerClient('carol@example.com', { elicitation: { url: {} } });
    const browsers: Promise<string>[] = [];
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      browsers.push(openInBrowser((request.params as { url: string }).url, 'carol@example.com', 'bob'));
      return { action: 'accept' };
    });
    await revoke('carol@example.com');
    const listed = await client.listTools();
    expect(listed.tools.map((t) => t.name)).toContain('whoami');
    expect(browsers).toHaveLength(1);
    expect(await browsers[0]).toBe(`${publicUrl}/oauth/success?serverName=secure`);
  });

  it('a client without URL elicitation: a tool error with the link, and a JSON-RPC error with the link in data', async () => {
    await authorizeOverRest('bob@example.com', 'bob');
    const client = await perServerClient('bob@example.com', {});
    expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toContain('bob');
    await revoke('bob@example.com');

    const called = await client.callTool({ name: 'whoami', arguments: {} });
    expect(called.isError).toBe(true);
    const link = /then call the tool again: (\S+)/.exec(textOf(called))?.[1] ?? '';
    expect(link).toMatch(new RegExp(`^${publicUrl}/api/mcp/oauth/link/[A-Za-z0-9_-]{43}$`));

    const listError = await rejection(client.listTools());
    expect(listError.code).not.toBe(ErrorCode.InternalError);
    expect(listError.code).toBe(ErrorCode.InvalidRequest);
    expect(listError.message).toMatch(/'secure' needs your authorization/);
    const data = listError.data as { code?: string; reason?: string; oauthUrl?: string };
    expect(data).toMatchObject({ code: 'HUB_ERR_OAUTH_REQUIRED', reason: 'oauth-required' });
    expect(data.oauthUrl).toMatch(new RegExp(`^${publicUrl}/api/mcp/oauth/link/[A-Za-z0-9_-]{43}$`));
    // The link in data is a working sign-in: after it, the same session's requests answer again.
    expect(await openInBrowser(data.oauthUrl ?? '', 'bob@example.com', 'bob')).toBe(
      `${publicUrl}/oauth/success?serverName=secure`,
    );
    expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toContain('bob');
  });
});
