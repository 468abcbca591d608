import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/auth/index.js';
import { authorizeInBrowser, CookieJar } from './peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { freePort, textOf } from './support/mcp-helpers.js';

const PASSWORD = 'correct horse';

/**
 * Issue 16: a server that answers a call on a live connection with 403 `insufficient_scope`
 * (RFC 6750 §3.1) gets the user asked for the larger grant: an oauthUrl over REST, URL elicitation
 * on /mcp, where the call is retried once after the grant. Real AS (oidc-provider, which knows
 * `mcp:tools` and `mcp:admin`) and a real protected server whose `admin` tool needs `mcp:admin`
 * on top of `mcp:tools`, and whose `greedy` tool needs `mcp:root`, which the AS never grants.
 */
describe('step-up authorization on a live connection', () => {
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let hub: TestHub;
  let publicUrl: string;
  const clients: Client[] = [];

  const cookiesOf = (res: LightMyRequestResponse): string =>
    res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const callRest = async (email: string, tool: string) =>
    hub.app.inject({
      method: 'POST',
      url: `/api/mcp/secure/tools/${tool}/call`,
      headers: { authorization: `Bearer ${await hub.userToken(email)}` },
      payload: { arguments: {} },
    });

  /** The browser part of a REST answer carrying an oauthUrl: the AS approves, the callback lands at the hub. */
  async function grant(answer: LightMyRequestResponse, login: 'alice' | 'bob'): Promise<string> {
    const { oauthUrl } = answer.json<{ oauthUrl: string }>();
    const { callbackUrl } = await authorizeInBrowser(oauthUrl, {
      loginHint: login,
      redirectUriPrefix: `${publicUrl}/api/mcp/secure/oauth/callback`,
    });
    const url = new URL(callbackUrl);
    const landed = await hub.app.inject({
      method: 'GET',
      url: `${url.pathname}${url.search}`,
      headers: { cookie: cookiesOf(answer) },
    });
    return landed.headers.location ?? '';
  }

  /** A user's first authorization over REST: what the server's challenge names, `mcp:tools` only. */
  async function authorizeFirst(email: string, login: 'alice' | 'bob'): Promise<void> {
    const first = await callRest(email, 'whoami');
    expect(first.statusCode).toBe(401);
    expect(new URL(first.json<{ oauthUrl: string }>().oauthUrl).searchParams.get('scope')).toBe('mcp:tools');
    expect(await grant(first, login)).toContain('/oauth/success');
    expect((await callRest(email, 'whoami')).statusCode).toBe(200);
  }

  /** What a person does with an elicited link: signs in to the hub, approves at the AS, lands on the callback. */
  async function openInBrowser(link: string, email: string, login: 'alice' | 'bob'): Promise<string> {
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

  /** An MCP client of the hub's endpoint at `path`, connected as the user `email`. */
  async function mcpClient(email: string, path: string, capabilities: ClientCapabilities) {
    const transport = new StreamableHTTPClientTransport(new URL(`${publicUrl}${path}`), {
      requestInit: { headers: { authorization: `Bearer ${await hub.userToken(email)}` } },
    });
    const client = new Client({ name: 'step-up-test', version: '1.0.0' }, { capabilities });
    clients.push(client);
    return { client, transport };
  }

  /** A client with URL elicitation (of /mcp unless `path` says) whose user accepts every link and opens it as `login`. */
  async function elicitingClient(email: string, login: 'alice' | 'bob', path = '/mcp') {
    const { client, transport } = await mcpClient(email, path, { elicitation: { url: {} } });
    const asked: { message: string; browser: Promise<string> }[] = [];
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      const params = request.params as { url: string; message: string };
      asked.push({ message: params.message, browser: openInBrowser(params.url, email, login) });
      return { action: 'accept' };
    });
    await client.connect(transport);
    return { client, asked };
  }

  beforeAll(async () => {
    as = await startAuthorizationServer({ accessTokenTtlSeconds: 300, scope: 'mcp:tools mcp:admin' });
    mcp = await startProtectedMcpServer({
      issuer: as.issuer,
      jwksUri: as.jwksUri,
      setResource: (url) => as.setResource(url),
      toolScopes: { admin: 'mcp:admin', greedy: 'mcp:root' },
    });
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
    for (const email of [
      'alice@example.com',
      'bob@example.com',
      'carol@example.com',
      'dave@example.com',
      'erin@example.com',
      'frank@example.com',
      'grace@example.com',
      'heidi@example.com',
    ]) {
      await hub.repos.users.create({ email, role: 'USER', passwordHash: await hashPassword(PASSWORD) });
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.dispose();
    await mcp?.stop();
    await as?.stop();
  });

  it('REST: 403 HUB_ERR_OAUTH_INSUFFICIENT_SCOPE with an oauthUrl for both scopes; the call works once granted', async () => {
    const others = new Set(mcp.sessionIds());
    await authorizeFirst('alice@example.com', 'alice');
    const narrow = mcp.sessionIds().filter((id) => !others.has(id));
    expect(narrow).toHaveLength(1);
    const refused = await callRest('alice@example.com', 'admin');
    expect(refused.statusCode).toBe(403);
    const body = refused.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      code: 'HUB_ERR_OAUTH_INSUFFICIENT_SCOPE',
      oauthRequired: true,
      scope: 'mcp:tools mcp:admin',
    });
    expect(body.error).toMatch(/'secure' needs more permissions/);
    const asked = new URL(String(body.oauthUrl)).searchParams.get('scope')?.split(' ') ?? [];
    expect(asked.sort()).toEqual(['mcp:admin', 'mcp:tools']);
    // The connection that was refused stays up: the other tools answer meanwhile.
    expect((await callRest('alice@example.com', 'whoami')).statusCode).toBe(200);

    expect(await grant(refused, 'alice')).toContain('/oauth/success');
    // The session of the narrower token ended before the callback answered: a call sent next
    // neither lands on it nor is cut off by its close.
    expect(mcp.sessionIds()).not.toContain(narrow[0]);
    const done = await callRest('alice@example.com', 'admin');
    expect(done.statusCode).toBe(200);
    expect(done.json<{ content: Array<{ text: string }> }>().content[0]?.text).toBe('admin: done');
  });

  it('REST, streamed: the error event carries HUB_ERR_OAUTH_INSUFFICIENT_SCOPE and oauthRequired', async () => {
    await authorizeFirst('erin@example.com', 'alice');
    const streamed = await hub.app.inject({
      method: 'POST',
      url: '/api/mcp/secure/tools/admin/call',
      headers: {
        authorization: `Bearer ${await hub.userToken('erin@example.com')}`,
        accept: 'text/event-stream',
      },
      payload: { arguments: {} },
    });
    expect(streamed.statusCode).toBe(200);
    const data = /event: error\ndata: (.*)\n/.exec(streamed.body)?.[1];
    expect(JSON.parse(data ?? '{}')).toMatchObject({
      code: 'HUB_ERR_OAUTH_INSUFFICIENT_SCOPE',
      oauthRequired: true,
    });
  });

  it('REST: a server that keeps refusing after each grant ends in HUB_ERR_OAUTH_STEP_UP_LIMIT, not another sign-in', async () => {
    await authorizeFirst('dave@example.com', 'bob');
    // The step-up budget (two per user and server in a flow window) is spent, then the hub stops asking.
    for (let round = 0; round < 2; round += 1) {
      const refused = await callRest('dave@example.com', 'greedy');
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({ code: 'HUB_ERR_OAUTH_INSUFFICIENT_SCOPE', oauthRequired: true });
      expect(await grant(refused, 'bob')).toContain('/oauth/success');
    }
    const last = await callRest('dave@example.com', 'greedy');
    expect(last.statusCode).toBe(403);
    expect(last.json()).toMatchObject({ code: 'HUB_ERR_OAUTH_STEP_UP_LIMIT' });
    expect(last.json()).not.toHaveProperty('oauthUrl');
  });

  it('/mcp: the user is asked by URL elicitation, and the call completes after the grant', async () => {
    await authorizeFirst('bob@example.com', 'bob');
    const { client, asked } = await elicitingClient('bob@example.com', 'bob');
    const forbiddenBefore = mcp.forbidden;
    const result = await client.callTool({ name: 'secure__admin', arguments: {} });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toBe('admin: done');
    expect(asked).toHaveLength(1);
    expect(asked[0]?.message).toMatch(/'secure' needs more permissions .*'mcp:tools mcp:admin'/);
    expect(await asked[0]?.browser).toBe(`${publicUrl}/oauth/success?serverName=secure`);
    // One refusal, then the retried call went through with the new token.
    expect(mcp.forbidden - forbiddenBefore).toBe(1);
    expect(textOf(await client.callTool({ name: 'secure__whoami', arguments: {} }))).toBe('bob');
  });

  it('/mcp: a server that still refuses after the grant gets one retry, then a clear error', async () => {
    await authorizeFirst('carol@example.com', 'alice');
    const { client, asked } = await elicitingClient('carol@example.com', 'alice');
    const forbiddenBefore = mcp.forbidden;
    const result = await client.callTool({ name: 'secure__greedy', arguments: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /'secure' still refuses this call after the new authorization \(it asks for the scope 'mcp:tools mcp:root'\); not asking again/,
    );
    expect(asked).toHaveLength(1);
    expect(await asked[0]?.browser).toBe(`${publicUrl}/oauth/success?serverName=secure`);
    // The first call and exactly one retry reached the server.
    expect(mcp.forbidden - forbiddenBefore).toBe(2);
  });

  it('/mcp/servers/:name: the user is asked by URL elicitation, and the call completes after the grant', async () => {
    await authorizeFirst('frank@example.com', 'bob');
    const { client, asked } = await elicitingClient('frank@example.com', 'bob', '/mcp/servers/secure');
    const forbiddenBefore = mcp.forbidden;
    const result = await client.callTool({ name: 'admin', arguments: {} });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toBe('admin: done');
    expect(asked).toHaveLength(1);
    expect(asked[0]?.message).toMatch(/'secure' needs more permissions .*'mcp:tools mcp:admin'/);
    expect(await asked[0]?.browser).toBe(`${publicUrl}/oauth/success?serverName=secure`);
    // One refusal, then the retried call went through with the new token.
    expect(mcp.forbidden - forbiddenBefore).toBe(1);
    expect(textOf(await client.callTool({ name: 'whoami', arguments: {} }))).toBe('bob');
  });

  it('/mcp/servers/:name: a server that still refuses after the grant gets one retry, then a clear error', async () => {
    await authorizeFirst('grace@example.com', 'alice');
    const { client, asked } = await elicitingClient('grace@example.com', 'alice', '/mcp/servers/secure');
    const forbiddenBefore = mcp.forbidden;
    const result = await client.callTool({ name: 'greedy', arguments: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /'secure' still refuses this call after the new authorization \(it asks for the scope 'mcp:tools mcp:root'\); not asking again/,
    );
    expect(asked).toHaveLength(1);
    expect(await asked[0]?.browser).toBe(`${publicUrl}/oauth/success?serverName=secure`);
    // The first call and exactly one retry reached the server.
    expect(mcp.forbidden - forbiddenBefore).toBe(2);
  });

  it('/mcp/servers/:name: a client without URL elicitation gets a tool error with the link, which grants the scope', async () => {
    await authorizeFirst('heidi@example.com', 'alice');
    const { client, transport } = await mcpClient('heidi@example.com', '/mcp/servers/secure', {});
    await client.connect(transport);
    const forbiddenBefore = mcp.forbidden;
    const refused = await client.callTool({ name: 'admin', arguments: {} });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/'secure' needs more permissions .*'mcp:tools mcp:admin'/);
    const link = /Open this link in a browser, sign in to Switchboard, then call the tool again: (\S+)/.exec(
      textOf(refused),
    )?.[1];
    expect(link?.startsWith(`${publicUrl}/`)).toBe(true);
    // No retry without a grant: only the one refusal reached the server.
    expect(mcp.forbidden - forbiddenBefore).toBe(1);
    expect(await openInBrowser(link ?? '', 'heidi@example.com', 'alice')).toBe(
      `${publicUrl}/oauth/success?serverName=secure`,
    );
    const done = await client.callTool({ name: 'admin', arguments: {} });
    expect(done.isError, textOf(done)).toBeFalsy();
    expect(textOf(done)).toBe('admin: done');
  });
});
