import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { startOidcIdp, type TestIdp } from './peers/oidc-idp.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { SsoBrowser } from './peers/sso-browser.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { freePort, textOf } from './support/mcp-helpers.js';

/**
 * Issue 11: a user who has no Switchboard password, only an identity provider, completes an
 * upstream OAuth through URL elicitation. The link sends the browser to sign in, the single sign-on
 * button signs it in, the browser comes back to the link and goes on to the upstream authorization
 * server, and the tool call then works. Real IdP and AS (oidc-provider), real protected server,
 * the SDK's client.
 */
describe('an SSO-only user authorizes an upstream server through URL elicitation', () => {
  let idp: TestIdp;
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let hub: TestHub;
  let base: string;
  let client: Client | undefined;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    [idp, as] = await Promise.all([
      startOidcIdp({ clients: [{ clientId: 'switchboard', redirectUri: `${base}/auth/sso/acme/callback` }] }),
      startAuthorizationServer({ accessTokenTtlSeconds: 300 }),
    ]);
    mcp = await startProtectedMcpServer(as);
    hub = await startTestHub({
      env: { PUBLIC_URL: base },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  secure:
    type: streamable-http
    url: ${mcp.url}
    requiresOAuth: true
auth:
  sso:
    - id: acme
      name: Acme SSO
      issuer: ${idp.issuer}
      clientId: switchboard
`,
    });
    await hub.app.listen({ port, host: '127.0.0.1' });
  }, 60_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await hub?.dispose();
    await mcp?.stop();
    await Promise.all([as?.stop(), idp?.stop()]);
  });

  it('the link leads through the SSO button back to the link, on to the upstream AS, and the call completes', async () => {
    // The person exists only at the IdP; the upstream AS knows them as alice too.
    idp.accounts.set('alice', { email: 'alice@acme.example', email_verified: true });
    const first = new SsoBrowser('alice', [idp.issuer, as.issuer]);
    const signedIn = await first.open(`${base}/auth/sso/acme/start?returnTo=%2Fapi%2Fauth%2Fsession`);
    const userId = (JSON.parse(signedIn.body) as { user: { id: string } }).user.id;
    const account = await hub.repos.users.findById(userId);
    expect(account).toMatchObject({ origin: 'external', passwordHash: null });

    // Their MCP client (a bearer token for the SSO account) declares URL elicitation.
    const token = await hub.identity.issueToken({ id: userId });
    client = new Client(
      { name: 'sso-elicitation', version: '1.0.0' },
      { capabilities: { elicitation: { url: {} } } },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );

    // A browser without a hub session: the one the client opens for the link.
    const browser = new SsoBrowser('alice', [idp.issuer, as.issuer]);
    const journeys: string[][] = [];
    let done: Promise<URL> | undefined;
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      const { url } = request.params as { url: string };
      done = (async () => {
        const signInPage = await browser.open(url);
        journeys.push(signInPage.visited);
        expect(signInPage.status, signInPage.body).toBe(200);
        expect(signInPage.url.pathname).toBe('/auth/signin');
        // The person presses the SSO button on the sign-in page.
        const button = /href="([^"]*\/auth\/sso\/acme\/start[^"]*)"/.exec(signInPage.body)?.[1];
        expect(button, signInPage.body).toBeDefined();
        const end = await browser.open(new URL(button!.replace(/&amp;/g, '&'), base));
        journeys.push(end.visited);
        return end.url;
      })();
      return { action: 'accept' };
    });

    const result = await client.callTool({ name: 'secure__authorize', arguments: {} });
    const landed = await done!;
    expect(landed.href).toBe(`${base}/oauth/success?serverName=secure`);
    expect(result.isError, textOf(result)).toBeFalsy();
    // The journey: IdP sign-in, back at the link, then the upstream AS and its callback.
    const hops = journeys.flat();
    const at = (prefix: string) => hops.findIndex((hop) => hop.includes(prefix));
    expect(at(`${base}/auth/sso/acme/callback`)).toBeGreaterThan(at(`${idp.issuer}/auth`));
    expect(hops.filter((hop) => hop.includes('/api/mcp/oauth/link/'))).toHaveLength(2);
    expect(at(`${as.issuer}/auth`)).toBeGreaterThan(at(`${base}/auth/sso/acme/callback`));
    expect(at('/api/mcp/secure/oauth/callback')).toBeGreaterThan(at(`${as.issuer}/auth`));

    const whoami = await client.callTool({ name: 'secure__whoami', arguments: {} });
    expect(whoami.isError, textOf(whoami)).toBeFalsy();
    expect(textOf(whoami)).toContain('alice');
    // The user still has no password: the whole way in was the IdP.
    expect((await hub.repos.users.findById(userId))?.passwordHash).toBeNull();
  });
});
