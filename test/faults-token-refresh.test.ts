import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeInBrowser } from './peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startTokenProxy, type TokenProxy } from './peers/token-proxy.js';
import { startTestHub, type TestHub } from './support/hub.js';

const PUBLIC_URL = 'http://127.0.0.1:39999';
const CALLBACK = `${PUBLIC_URL}/api/mcp/secure/oauth/callback`;
/** Far past the access token's lifetime (60 s) and the refresh margin. */
const PAST_EXPIRY_MS = 5 * 60_000;

/**
 * Issue 14, faults nobody tried: the token endpoint answers 500, hangs or refuses the grant while
 * the hub refreshes a user's access token for a live connection. A failure keeps the tokens and
 * answers with the refresh's own code (never the connection's "unavailable"), and a later call
 * refreshes once the authorization server is healthy again; a refused grant asks the user to
 * authorize again.
 */
describe('fault: token endpoint failing during refresh', () => {
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let proxy: TokenProxy;
  let hub: TestHub;
  let alice: string;
  let aliceId: string;
  // The hub's clock runs ahead on demand, so the stored token looks expired without waiting.
  let offset = 0;

  const callWhoami = (): Promise<LightMyRequestResponse> =>
    hub.app.inject({
      method: 'POST',
      url: '/api/mcp/secure/tools/whoami/call',
      headers: { authorization: `Bearer ${alice}` },
      payload: { arguments: {} },
    });
  const text = (res: LightMyRequestResponse): string =>
    res.json<{ content: Array<{ text: string }> }>().content[0]!.text;
  const storedRows = async (): Promise<number> => (await hub.repos.credentials.listForUser(aliceId)).length;
  /** Completes the sign-in a call's 401 `oauthUrl` starts, as alice's browser. */
  const authorize = async (needsAuth: LightMyRequestResponse): Promise<void> => {
    expect(needsAuth.statusCode, needsAuth.body).toBe(401);
    const { callbackUrl } = await authorizeInBrowser(needsAuth.json<{ oauthUrl: string }>().oauthUrl, {
      loginHint: 'alice',
      redirectUriPrefix: CALLBACK,
    });
    const url = new URL(callbackUrl);
    const cookie = needsAuth.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const done = await hub.app.inject({
      method: 'GET',
      url: `${url.pathname}${url.search}`,
      headers: { cookie },
    });
    expect(done.statusCode).toBe(302);
  };

  beforeAll(async () => {
    as = await startAuthorizationServer();
    mcp = await startProtectedMcpServer(as);
    proxy = await startTokenProxy(as.issuer);
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
    hub = await startTestHub({
      env: { PUBLIC_URL },
      clock: { now: () => Date.now() + offset },
      yaml: `
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
`,
    });
    alice = await hub.userToken('alice@example.com');
    aliceId = (await hub.repos.users.findByEmail('alice@example.com'))!.id;

    await authorize(await callWhoami());
    expect(text(await callWhoami())).toBe('alice');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await proxy?.stop();
    await mcp?.stop();
    await as?.stop();
  });

  it('a 500 from the token endpoint on a live connection: 502 HUB_ERR_OAUTH_TOKEN_FAILED, the tokens kept, and a later call refreshes', async () => {
    const rows = await storedRows();
    expect(rows).toBeGreaterThan(0);
    proxy.setMode('fail');
    offset += PAST_EXPIRY_MS;

    const failed = await callWhoami();
    // The refresh's own code, though the failed request also dropped the live connection (whose
    // calls would otherwise read "connection closed", HUB_ERR_UPSTREAM_UNAVAILABLE).
    expect(failed.statusCode, failed.body).toBe(502);
    expect(failed.json<{ code: string }>().code).toBe('HUB_ERR_OAUTH_TOKEN_FAILED');
    expect(proxy.counts.fail).toBeGreaterThan(0);
    expect(await storedRows()).toBe(rows);

    proxy.setMode('forward');
    const grants = as.counts.refreshTokenGrants;
    const retried = await callWhoami();
    expect(retried.statusCode, retried.body).toBe(200);
    expect(text(retried)).toBe('alice');
    expect(as.counts.refreshTokenGrants).toBe(grants + 1);
  });

  it('a hanging token endpoint: one request, bounded by the OAuth request timeout, then 502 HUB_ERR_OAUTH_TOKEN_FAILED; the tokens kept and a later call refreshes', async () => {
    const rows = await storedRows();
    proxy.setMode('hang');
    offset += PAST_EXPIRY_MS;

    const failed = await callWhoami();
    expect(failed.statusCode, failed.body).toBe(502);
    expect(failed.json<{ code: string }>().code).toBe('HUB_ERR_OAUTH_TOKEN_FAILED');
    // The request timeout is the budget of the whole refresh: a hung AS is not asked again (and
    // waited for again) within the same call.
    expect(proxy.counts.hang).toBe(1);
    expect(await storedRows()).toBe(rows);

    proxy.setMode('forward');
    const grants = as.counts.refreshTokenGrants;
    const retried = await callWhoami();
    expect(retried.statusCode, retried.body).toBe(200);
    expect(text(retried)).toBe('alice');
    expect(as.counts.refreshTokenGrants).toBe(grants + 1);
  }, 40_000);

  it('a refused grant (invalid_grant) on a live connection: 401 HUB_ERR_OAUTH_REQUIRED with an oauthUrl, the dead tokens gone; authorizing again works', async () => {
    expect(text(await callWhoami())).toBe('alice'); // the connection is live
    proxy.setMode('refuse');
    offset += PAST_EXPIRY_MS;

    const refused = await callWhoami();
    expect(refused.statusCode, refused.body).toBe(401);
    expect(refused.json()).toMatchObject({
      code: 'HUB_ERR_OAUTH_REQUIRED',
      oauthRequired: true,
      oauthUrl: expect.stringContaining(`${as.issuer}/auth?`),
    });
    expect(proxy.counts.refuse).toBe(1);
    expect(await storedRows()).toBe(0);
    // Asked again, the same answer, and the dead grant is not tried again.
    const again = await callWhoami();
    expect(again.statusCode, again.body).toBe(401);
    expect(again.json<{ code: string }>().code).toBe('HUB_ERR_OAUTH_REQUIRED');
    expect(proxy.counts.refuse).toBe(1);

    proxy.setMode('forward');
    await authorize(again);
    expect(text(await callWhoami())).toBe('alice');
  }, 40_000);

  it('no token the AS issued appears in the logs', () => {
    const logs = hub.logLines.join('\n');
    for (const secret of as.mintedTokens()) expect(logs).not.toContain(secret);
  });
});
