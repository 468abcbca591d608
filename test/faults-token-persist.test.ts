import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeInBrowser } from './peers/headless-browser.js';
import { startLostAnswerProxy, type LostAnswerProxy } from './peers/lost-answer-proxy.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { PrivateRedis } from './peers/private-redis.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startTestHub, type TestHub } from './support/hub.js';

const PUBLIC_URL = 'http://127.0.0.1:39999';
const CALLBACK = `${PUBLIC_URL}/api/mcp/secure/oauth/callback`;

type Injected = LightMyRequestResponse;
const cookiesOf = (res: Injected): string => res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
const whoami = (hub: TestHub, token: string): Promise<Injected> =>
  hub.app.inject({
    method: 'POST',
    url: '/api/mcp/secure/tools/whoami/call',
    headers: { authorization: `Bearer ${token}` },
    payload: { arguments: {} },
  });
const textOf = (res: Injected): string => res.json<{ content: Array<{ text: string }> }>().content[0]!.text;
/** Sends a callback URL the AS redirected to into a hub, with the browser's cookies. */
const callback = (hub: TestHub, callbackUrl: string, cookie: string): Promise<Injected> => {
  const url = new URL(callbackUrl);
  return hub.app.inject({ method: 'GET', url: `${url.pathname}${url.search}`, headers: { cookie } });
};
const tokenRows = async (hub: TestHub, email: string): Promise<number> => {
  const user = await hub.repos.users.findByEmail(email);
  const rows = await hub.repos.credentials.listForUser(user!.id);
  return rows.filter((row) => row.kind === 'oauth_tokens').length;
};

/**
 * Issue 14, FT-05: the database refuses the token write at the end of a sign-in (here it is locked
 * by another connection, as during a restart or a long migration). The user gets a page that says
 * so and offers a retry; nothing half-done is stored; once the database is back the same callback
 * completes, and the authorization server saw ONE token request: the single-use code is never
 * sent twice.
 */
describe('fault: the database fails the token write of an OAuth callback', () => {
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let hub: TestHub;
  let alice: string;

  beforeAll(async () => {
    as = await startAuthorizationServer();
    mcp = await startProtectedMcpServer(as);
    hub = await startTestHub({
      env: { PUBLIC_URL },
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
    alice = await hub.userToken('alice@example.com');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await mcp?.stop();
    await as?.stop();
  });

  it('first callback: 503 with a retry page and no token row; the same callback later: connected, one token request', async () => {
    const started = await whoami(hub, alice);
    expect(started.statusCode).toBe(401);
    const { callbackUrl } = await authorizeInBrowser(started.json<{ oauthUrl: string }>().oauthUrl, {
      loginHint: 'alice',
      redirectUriPrefix: CALLBACK,
    });
    const grants = as.counts.authorizationCodeGrants;
    const failed = as.counts.failedGrants;

    // Another connection takes SQLite's write lock: the hub's writes wait out the busy timeout and fail.
    const locker = new BetterSqlite3(path.join(hub.dataDir, 'switchboard.db'));
    let first: Injected;
    try {
      locker.exec('BEGIN IMMEDIATE');
      first = await callback(hub, callbackUrl, cookiesOf(started));
      expect(await tokenRows(hub, 'alice@example.com')).toBe(0);
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    expect(first.statusCode, first.body).toBe(503);
    expect(first.headers['retry-after']).toBe('5');
    expect(first.body).toContain('You signed in, but the hub could not save the sign-in just now.');
    expect(first.body).toContain('<a class="button" href="">Try again</a>');
    expect(as.counts.authorizationCodeGrants).toBe(grants + 1);

    // Meanwhile the hub does not call the server connected, and the flow is still open.
    const tools = await hub.app.inject({
      method: 'GET',
      url: '/api/mcp/tools',
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(
      tools.json<{ servers: Record<string, { authenticated: boolean }> }>().servers.secure,
    ).toMatchObject({ authenticated: false });
    const flowId = started.json<{ flowId: string }>().flowId;
    const status = await hub.app.inject({
      method: 'GET',
      url: `/api/mcp/oauth/status/${encodeURIComponent(flowId)}`,
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(status.json()).toMatchObject({ status: 'PENDING', completed: false, failed: false });

    // The database is back: "Try again" (the same URL) completes the sign-in.
    const retried = await callback(hub, callbackUrl, cookiesOf(started));
    expect(retried.statusCode, retried.body).toBe(302);
    expect(retried.headers.location).toBe(`${PUBLIC_URL}/oauth/success?serverName=secure`);
    expect(as.counts.authorizationCodeGrants).toBe(grants + 1);
    expect(as.counts.failedGrants).toBe(failed);
    expect(await tokenRows(hub, 'alice@example.com')).toBe(1);
    const res = await whoami(hub, alice);
    expect(res.statusCode, res.body).toBe(200);
    expect(textOf(res)).toBe('alice');

    // Completed is consumed: sending the callback a third time is refused and asks the AS nothing.
    const replay = await callback(hub, callbackUrl, cookiesOf(started));
    expect(replay.headers.location).toBe(`${PUBLIC_URL}/oauth/error?error=invalid_state`);
    expect(as.counts.authorizationCodeGrants + as.counts.failedGrants).toBe(grants + 1 + failed);
  }, 60_000);

  it('no token the AS issued, and no code, appears in the logs', () => {
    const logs = hub.logLines.join('\n');
    for (const secret of as.mintedTokens()) expect(logs).not.toContain(secret);
  });
});

/**
 * Issue 14, FT-06: the instance is killed between the code exchange and storing the tokens. Here the
 * AS's answer never reaches instance A (a proxy drops it after the AS redeemed the code), and A is
 * then shut down; instance B shares A's SQLite file and Redis, as after a restart. No token row is
 * left, the hub does not call the server connected, reloading the callback tells the user the
 * sign-in was interrupted without sending the code again, and a new sign-in works at once.
 */
describe('fault: the instance dies between the code exchange and the token write', () => {
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let proxy: LostAnswerProxy;
  let redis: PrivateRedis;
  let dataDir: string;
  let first: TestHub | undefined;
  let second: TestHub;
  let pending: Promise<unknown> | undefined;
  // B's clock runs ahead on demand, so A's claim looks as old as a dead instance's would.
  let offset = 0;

  beforeAll(async () => {
    as = await startAuthorizationServer();
    mcp = await startProtectedMcpServer(as);
    proxy = await startLostAnswerProxy(as.issuer);
    redis = await PrivateRedis.start();
    dataDir = await mkdtemp(path.join(tmpdir(), 'switchboard-ft06-'));
    // A pre-registered public client, so the token endpoint can be the proxy's.
    const registered = await fetch(`${as.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: [CALLBACK],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        scope: 'mcp:tools',
      }),
    });
    const { client_id: clientId } = (await registered.json()) as { client_id: string };
    const env = {
      PUBLIC_URL,
      DATA_DIR: dataDir,
      REDIS_URL: redis.url,
      JWT_SECRET: 'ft06-shared-secret-0123456789abcdef0123',
      CREDENTIALS_KEY: '5c'.repeat(32),
    };
    const yaml = `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  secure:
    type: streamable-http
    url: ${mcp.url}
    requiresOAuth: true
    oauth:
      authorization_url: ${as.issuer}/auth
      token_url: ${proxy.tokenUrl}
      client_id: ${clientId}
      scope: mcp:tools
`;
    first = await startTestHub({ env, yaml });
    second = await startTestHub({ env, yaml, clock: { now: () => Date.now() + offset } });
  }, 60_000);

  afterAll(async () => {
    await first?.dispose();
    await second?.dispose();
    // Dropping the held connection ends A's abandoned callback; A's stores are closed by then.
    await proxy?.stop();
    await pending;
    await mcp?.stop();
    await as?.stop();
    await redis?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('no token row, not connected, the reload says interrupted without a token request, and a new sign-in succeeds', async () => {
    const a = first!;
    const aliceOnA = await a.userToken('alice@example.com');
    const started = await whoami(a, aliceOnA);
    expect(started.statusCode).toBe(401);
    const { callbackUrl } = await authorizeInBrowser(started.json<{ oauthUrl: string }>().oauthUrl, {
      loginHint: 'alice',
      redirectUriPrefix: CALLBACK,
    });
    const cookie = cookiesOf(started);
    const grants = as.counts.authorizationCodeGrants;

    proxy.setMode('lose');
    pending = callback(a, callbackUrl, cookie).catch(() => undefined);
    // The AS has redeemed the code and issued tokens; A never hears of them. Then A is gone.
    await expect.poll(() => proxy.lost, { timeout: 10_000 }).toBe(1);
    expect(as.counts.authorizationCodeGrants).toBe(grants + 1);
    first = undefined;
    await a.dispose();
    proxy.setMode('forward');

    // B, as after the restart: no half-written row, and nothing says connected.
    const alice = await second.userToken('alice@example.com');
    expect(await tokenRows(second, 'alice@example.com')).toBe(0);
    const status = await second.app.inject({
      method: 'GET',
      url: '/api/mcp/connection/status/secure',
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(status.json()).toMatchObject({ requiresOAuth: true });
    expect(status.json<{ connectionStatus: string }>().connectionStatus).not.toBe('connected');
    const tools = await second.app.inject({
      method: 'GET',
      url: '/api/mcp/tools',
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(
      tools.json<{ servers: Record<string, { authenticated: boolean }> }>().servers.secure,
    ).toMatchObject({ authenticated: false });

    // The user reloads the callback page: the code is not sent again, and the page says why.
    offset = 60_000;
    const reload = await callback(second, callbackUrl, cookie);
    expect(reload.headers.location).toBe(`${PUBLIC_URL}/oauth/error?error=sign_in_interrupted`);
    expect(as.counts.authorizationCodeGrants).toBe(grants + 1);
    expect(as.counts.failedGrants).toBe(0);
    const page = await second.app.inject({ method: 'GET', url: '/oauth/error?error=sign_in_interrupted' });
    expect(page.body).toContain('This sign-in was interrupted before the hub could save it. Start it again.');

    // A fresh sign-in works at once: no stale lock in the way.
    const again = await whoami(second, alice);
    expect(again.statusCode).toBe(401);
    const fresh = await authorizeInBrowser(again.json<{ oauthUrl: string }>().oauthUrl, {
      loginHint: 'alice',
      redirectUriPrefix: CALLBACK,
    });
    const done = await callback(second, fresh.callbackUrl, cookiesOf(again));
    expect(done.headers.location).toBe(`${PUBLIC_URL}/oauth/success?serverName=secure`);
    const res = await whoami(second, alice);
    expect(res.statusCode, res.body).toBe(200);
    expect(textOf(res)).toBe('alice');
    expect(as.counts.authorizationCodeGrants).toBe(grants + 2);
    expect(as.counts.failedGrants).toBe(0);
    expect(await tokenRows(second, 'alice@example.com')).toBe(1);
  }, 60_000);
});
