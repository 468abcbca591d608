import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { authorizeInBrowser } from './peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startTestHub, type TestHub } from './support/hub.js';

const PUBLIC_URL = 'http://127.0.0.1:39997';

/** AZ-12 against a real authorization server (oidc-provider) and a JWT-protected MCP server. */
describe('removing a user (AZ-12)', () => {
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let hub: TestHub;
  let admin: string;

  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const cookiesOf = (res: LightMyRequestResponse): string =>
    res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const call = (server: string, token: string) =>
    hub.app.inject({
      method: 'POST',
      url: `/api/mcp/${server}/tools/whoami/call`,
      headers: auth(token),
      payload: { arguments: {} },
    });
  const callback = (callbackUrl: string, cookie: string) => {
    const url = new URL(callbackUrl);
    return hub.app.inject({ method: 'GET', url: `${url.pathname}${url.search}`, headers: { cookie } });
  };
  /** The flow record as every instance reads it from the KV. */
  const flowRecord = async (flowId: string) => {
    const text = await hub.kv.get(`oauth:flow:${flowId}`);
    return text === null ? null : (JSON.parse(text) as { status: string; error: string | null });
  };

  beforeAll(async () => {
    as = await startAuthorizationServer();
    mcp = await startProtectedMcpServer(as);
    hub = await startTestHub({
      env: { PUBLIC_URL },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  vault:
    type: streamable-http
    url: ${mcp.url}
    requiresOAuth: true
  ledger:
    type: streamable-http
    url: ${mcp.url}
    requiresOAuth: true
`,
    });
    admin = await hub.userToken('root@example.com', 'ADMIN');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await mcp?.stop();
    await as?.stop();
  });

  it('AZ-12: removing a user revokes their tokens at the authorization server and cancels their pending flows', async () => {
    const erin = await hub.userToken('erin@example.com');
    const erinId = (await hub.repos.users.findByEmail('erin@example.com'))!.id;

    // Erin authorizes 'vault' in her browser and uses it.
    const first = await call('vault', erin);
    expect(first.statusCode).toBe(401);
    const vaultUrl = first.json<{ oauthUrl: string }>().oauthUrl;
    const vaultBack = await authorizeInBrowser(vaultUrl, {
      loginHint: 'alice',
      redirectUriPrefix: new URL(vaultUrl).searchParams.get('redirect_uri') ?? '',
    });
    const done = await callback(vaultBack.callbackUrl, cookiesOf(first));
    expect(done.headers.location).toBe(`${PUBLIC_URL}/oauth/success?serverName=vault`);
    const used = await call('vault', erin);
    expect(used.statusCode, used.body).toBe(200);
    const tokenRows = (await hub.repos.credentials.listForUser(erinId)).filter(
      (r) => r.kind === 'oauth_tokens',
    );
    expect(tokenRows.map((r) => r.serverName)).toEqual(['vault']);

    // She starts 'ledger' and signs in at the AS, but the browser has not come back yet: pending.
    const pending = await call('ledger', erin);
    expect(pending.statusCode).toBe(401);
    const { oauthUrl: ledgerUrl, flowId } = pending.json<{ oauthUrl: string; flowId: string }>();
    expect(flowId).toBe(`${erinId}:ledger`);
    const ledgerBack = await authorizeInBrowser(ledgerUrl, {
      loginHint: 'alice',
      redirectUriPrefix: new URL(ledgerUrl).searchParams.get('redirect_uri') ?? '',
    });
    expect(await flowRecord(flowId)).toMatchObject({ status: 'PENDING' });

    const revocationsBefore = as.counts.revocations;
    const grantsBefore = as.counts.authorizationCodeGrants;
    const removed = await hub.app.inject({
      method: 'DELETE',
      url: `/api/admin/users/${erinId}`,
      headers: auth(admin),
    });
    expect(removed.statusCode, removed.body).toBe(200);

    // RFC 7009 at the AS: the revocation it accepted for her one token set.
    expect(as.counts.revocations - revocationsBefore).toBe(1);
    expect(await flowRecord(flowId)).toMatchObject({ status: 'FAILED', error: 'cancelled' });
    expect(await hub.repos.credentials.listForUser(erinId)).toEqual([]);
    expect((await call('vault', erin)).statusCode).toBe(401);

    // The browser coming back late lands nothing: no code is redeemed, no row for a removed user.
    const late = await callback(ledgerBack.callbackUrl, cookiesOf(pending));
    expect(late.headers.location).not.toContain('/oauth/success');
    expect(as.counts.authorizationCodeGrants).toBe(grantsBefore);
    expect(await hub.repos.credentials.listForUser(erinId)).toEqual([]);
    expect(await hub.repos.users.findById(erinId)).toBeNull();
  });
});
