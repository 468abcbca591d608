import type { LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeInBrowser } from './peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { PrivateRedis } from './peers/private-redis.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startTestHub, type TestHub } from './support/hub.js';

const PUBLIC_URL = 'http://127.0.0.1:39999';
const CALLBACK = `${PUBLIC_URL}/api/mcp/secure/oauth/callback`;

/**
 * Issue 14, faults nobody tried: Redis loses an OAuth flow's keys between the redirect to the
 * authorization server and the callback. The callback ends on a clear `invalid_state` error page
 * without asking the AS for a token, nothing is stored, and starting again works.
 */
describe('fault: Redis flushed in the middle of an OAuth flow', () => {
  let redis: PrivateRedis;
  let inspect: Redis;
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let hub: TestHub;
  let alice: string;

  const callWhoami = (): Promise<LightMyRequestResponse> =>
    hub.app.inject({
      method: 'POST',
      url: '/api/mcp/secure/tools/whoami/call',
      headers: { authorization: `Bearer ${alice}` },
      payload: { arguments: {} },
    });
  const cookiesOf = (res: LightMyRequestResponse): string =>
    res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const callback = (callbackUrl: string, cookie: string): Promise<LightMyRequestResponse> => {
    const url = new URL(callbackUrl);
    return hub.app.inject({ method: 'GET', url: `${url.pathname}${url.search}`, headers: { cookie } });
  };

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    inspect = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    as = await startAuthorizationServer();
    mcp = await startProtectedMcpServer(as);
    hub = await startTestHub({
      env: { PUBLIC_URL, REDIS_URL: redis.url },
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
    inspect?.disconnect();
    await redis?.stop();
  });

  it('the callback after the flush answers invalid_state and asks the AS nothing; starting again works', async () => {
    const started = await callWhoami();
    expect(started.statusCode).toBe(401);
    const { callbackUrl } = await authorizeInBrowser(started.json<{ oauthUrl: string }>().oauthUrl, {
      loginHint: 'alice',
      redirectUriPrefix: CALLBACK,
    });
    // The flow's keys are there, then gone (this Redis is the test's own).
    expect(await inspect.keys('*oauth:state:*')).not.toEqual([]);
    await inspect.flushall();

    const grants = as.counts.authorizationCodeGrants + as.counts.failedGrants;
    const late = await callback(callbackUrl, cookiesOf(started));
    expect(late.statusCode).toBe(302);
    expect(late.headers.location).toBe(`${PUBLIC_URL}/oauth/error?error=invalid_state`);
    expect(as.counts.authorizationCodeGrants + as.counts.failedGrants).toBe(grants);
    const aliceId = (await hub.repos.users.findByEmail('alice@example.com'))!.id;
    expect(await hub.repos.credentials.listForUser(aliceId)).toEqual([]);
    const page = await hub.app.inject({
      method: 'GET',
      url: new URL(late.headers.location!).pathname + '?error=invalid_state',
    });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('This sign-in link is unknown, expired or was already used.');

    // Starting again: a new authorization URL, and this time the flow completes.
    const again = await callWhoami();
    expect(again.statusCode).toBe(401);
    const second = await authorizeInBrowser(again.json<{ oauthUrl: string }>().oauthUrl, {
      loginHint: 'alice',
      redirectUriPrefix: CALLBACK,
    });
    const done = await callback(second.callbackUrl, cookiesOf(again));
    expect(done.headers.location).toBe(`${PUBLIC_URL}/oauth/success?serverName=secure`);
    const res = await callWhoami();
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<{ content: Array<{ text: string }> }>().content[0]!.text).toBe('alice');
  });
});
