import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/auth/index.js';
import { HubBrowser } from './peers/hub-browser.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { freePort } from './support/mcp-helpers.js';

const PASSWORD = 'correct horse battery staple';

/** A PKCE pair (RFC 7636 §4.1–4.2, S256). */
function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
};

describe('the hub as the authorization server of its own /mcp', () => {
  let hub: TestHub;
  let base: string;
  const redirectUri = 'http://127.0.0.1:49152/callback';

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    hub = await startTestHub({ env: { PUBLIC_URL: base } });
    await hub.app.listen({ port, host: '127.0.0.1' });
    for (const email of ['alice@example.com', 'bob@example.com']) {
      await hub.repos.users.create({ email, role: 'USER', passwordHash: await hashPassword(PASSWORD) });
    }
  });

  afterAll(async () => {
    await hub?.dispose();
  });

  /** Registers a public client (RFC 7591) and answers its id. */
  async function register(metadata: Record<string, unknown>): Promise<string> {
    const response = await fetch(`${base}/oauth2/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token_endpoint_auth_method: 'none', ...metadata }),
    });
    const body = (await response.json()) as { client_id?: string };
    expect(response.status, JSON.stringify(body)).toBe(201);
    return body.client_id ?? '';
  }

  function authorizeUrl(clientId: string, challenge: string, extra: Record<string, string> = {}): string {
    const url = new URL(`${base}/oauth2/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: 'mcp',
      resource: `${base}/mcp`,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'st',
      ...extra,
    }).toString();
    return url.href;
  }

  async function redeem(clientId: string, code: string, verifier: string, resource = `${base}/mcp`) {
    const response = await fetch(`${base}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: clientId,
        code,
        code_verifier: verifier,
        redirect_uri: redirectUri,
        resource,
      }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  const initialize = (path: string, token: string) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify(INITIALIZE),
    });

  it('publishes RFC 8414 metadata at both well-known paths, and the resource metadata names the hub', async () => {
    const metadata = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(metadata).toMatchObject({
      issuer: base,
      authorization_endpoint: `${base}/oauth2/authorize`,
      token_endpoint: `${base}/oauth2/token`,
      registration_endpoint: `${base}/oauth2/register`,
      revocation_endpoint: `${base}/oauth2/revoke`,
      code_challenge_methods_supported: ['S256'],
      client_id_metadata_document_supported: true,
    });
    expect(metadata.scopes_supported).toContain('mcp');
    const oidc = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(oidc.issuer).toBe(base);
    const prm = (await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<
      string,
      unknown
    >;
    expect(prm).toMatchObject({
      resource: `${base}/mcp`,
      authorization_servers: [base],
      scopes_supported: ['mcp'],
    });
    const serverPrm = (await (
      await fetch(`${base}/.well-known/oauth-protected-resource/mcp/servers/probe`)
    ).json()) as Record<string, unknown>;
    expect(serverPrm).toMatchObject({ resource: `${base}/mcp/servers/probe`, authorization_servers: [base] });
  });

  it('signs in through the hub session, shows consent, and issues a token bound to /mcp', async () => {
    const clientId = await register({ client_name: 'Test Client', redirect_uris: [redirectUri] });
    const { verifier, challenge } = pkce();
    const browser = new HubBrowser(base, { email: 'alice@example.com', password: PASSWORD });
    const outcome = await browser.authorize(authorizeUrl(clientId, challenge), redirectUri, 'approve');
    expect(outcome.kind).toBe('callback');
    if (outcome.kind !== 'callback') return;
    expect(browser.signIns).toBe(1);
    expect(outcome.consentShown).toContain('Test Client');
    expect(outcome.consentShown).toContain('127.0.0.1:49152');
    expect(outcome.consentShown).toContain('your tools on Switchboard');
    const code = outcome.url.searchParams.get('code');
    expect(code).toBeTruthy();
    expect(outcome.url.searchParams.get('iss')).toBe(base);
    const tokens = await redeem(clientId, code ?? '', verifier);
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    expect(tokens.body).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'mcp' });
    expect(typeof tokens.body.refresh_token).toBe('string');
    const accessToken = String(tokens.body.access_token);
    expect((await initialize('/mcp', accessToken)).status).toBe(200);
    // Another resource (the REST API) never accepts it.
    const api = await fetch(`${base}/api/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(api.status).toBe(401);
  });
});
