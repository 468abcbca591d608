import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/auth/index.js';
import { HubBrowser } from './peers/hub-browser.js';
import { openAdminContext } from '../src/cli/admin-context.js';
import { loadConfig } from '../src/config/index.js';
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

  async function userId(email: string): Promise<string> {
    const user = await hub.repos.users.findByEmail(email);
    if (user === null) throw new Error(`no user ${email}`);
    return user.id;
  }

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

  /** One authorization in `browser` up to the client's callback (or a page), with a fresh PKCE pair. */
  async function authorize(
    browser: HubBrowser,
    clientId: string,
    options: { redirect?: string; resource?: string; answer?: 'approve' | 'deny' | 'stop' } = {},
  ) {
    const { verifier, challenge } = pkce();
    const url = new URL(authorizeUrl(clientId, challenge));
    if (options.redirect !== undefined) url.searchParams.set('redirect_uri', options.redirect);
    if (options.resource !== undefined) url.searchParams.set('resource', options.resource);
    const outcome = await browser.authorize(
      url.href,
      options.redirect ?? redirectUri,
      options.answer ?? 'approve',
    );
    return { outcome, verifier };
  }

  /** A full authorization and code redemption; the access token. */
  async function tokenFor(browser: HubBrowser, clientId: string, resource = `${base}/mcp`): Promise<string> {
    const { outcome, verifier } = await authorize(browser, clientId, { resource });
    if (outcome.kind !== 'callback') throw new Error(`stopped at a page: ${outcome.html.slice(0, 300)}`);
    const tokens = await redeem(clientId, outcome.url.searchParams.get('code') ?? '', verifier, resource);
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    return String(tokens.body.access_token);
  }

  const alice = () => new HubBrowser(base, { email: 'alice@example.com', password: PASSWORD });
  const bob = () => new HubBrowser(base, { email: 'bob@example.com', password: PASSWORD });

  it('RFC 6749 §3.3: a request without scope gets the default scope, mcp', async () => {
    const clientId = await register({ client_name: 'No Scope', redirect_uris: [redirectUri] });
    const { verifier, challenge } = pkce();
    const url = new URL(authorizeUrl(clientId, challenge));
    url.searchParams.delete('scope');
    url.searchParams.delete('resource');
    const outcome = await alice().authorize(url.href, redirectUri, 'approve');
    if (outcome.kind !== 'callback') throw new Error('no callback');
    const tokens = await redeem(clientId, outcome.url.searchParams.get('code') ?? '', verifier);
    expect(tokens.body.scope).toBe('mcp');
    expect((await initialize('/mcp', String(tokens.body.access_token))).status).toBe(200);
  });

  it('OA-16: an unregistered redirect URI gets an error page and no redirect', async () => {
    const clientId = await register({ client_name: 'Honest App', redirect_uris: [redirectUri] });
    const browser = alice();
    const { outcome } = await authorize(browser, clientId, { redirect: 'https://evil.example/cb' });
    expect(outcome.kind).toBe('page');
    if (outcome.kind !== 'page') return;
    expect(outcome.status).toBe(400);
    expect(outcome.html).toContain('redirect_uri');
    // The browser was never asked to sign in: the request died before any interaction.
    expect(browser.signIns).toBe(0);
  });

  it('OA-16: a registered redirect to another origin gets a consent page naming that host, and nothing goes there without the click', async () => {
    const clientId = await register({
      client_name: 'Friendly Tools',
      redirect_uris: ['https://evil.example/cb'],
    });
    const browser = alice();
    const stopped = await authorize(browser, clientId, {
      redirect: 'https://evil.example/cb',
      answer: 'stop',
    });
    expect(stopped.outcome.kind).toBe('page');
    if (stopped.outcome.kind !== 'page') return;
    expect(stopped.outcome.html).toContain('Friendly Tools');
    expect(stopped.outcome.html).toContain('sends your approval to <strong>evil.example</strong>');
    expect(stopped.outcome.html).toContain('registered itself');
    // No code was minted while the page waits for the user.
    expect(
      await hub.repos.oauthServer.listForAccount(
        'AuthorizationCode',
        await userId('alice@example.com'),
        clientId,
      ),
    ).toEqual([]);

    // Deny: the client hears access_denied, and no code.
    const denied = await authorize(browser, clientId, {
      redirect: 'https://evil.example/cb',
      answer: 'deny',
    });
    expect(denied.outcome.kind).toBe('callback');
    if (denied.outcome.kind !== 'callback') return;
    expect(denied.outcome.url.origin).toBe('https://evil.example');
    expect(denied.outcome.url.searchParams.get('error')).toBe('access_denied');
    expect(denied.outcome.url.searchParams.has('code')).toBe(false);
  });

  it('OA-16: the approve and deny posts need the session and its CSRF token', async () => {
    const clientId = await register({ client_name: 'Forms', redirect_uris: [redirectUri] });
    const browser = alice();
    const stopped = await authorize(browser, clientId, { answer: 'stop' });
    if (stopped.outcome.kind !== 'page') throw new Error('no consent page');
    const action = /action="([^"]*\/approve)"/.exec(stopped.outcome.html)?.[1] ?? '';
    expect(action).not.toBe('');
    const forged = await browser.request(action, { form: new URLSearchParams({ _csrf: 'not-the-token' }) });
    expect(forged.status).toBe(403);
    expect(forged.headers.get('location')).toBeNull();
    const missing = await browser.request(action, { form: new URLSearchParams() });
    expect(missing.status).toBe(403);
    // Another browser, signed in as someone else, cannot answer alice's page even with its own token.
    const other = bob();
    await other.signIn();
    const session = (await (await other.request('/api/auth/session')).json()) as { csrfToken: string };
    const crossed = await other.request(action, { form: new URLSearchParams({ _csrf: session.csrfToken }) });
    expect(crossed.status).toBe(400);
    expect(crossed.headers.get('location')).toBeNull();
  });

  it('consent is per user and per client: approved once, the same client goes on without a click; another user is asked', async () => {
    const clientId = await register({ client_name: 'Remembered', redirect_uris: [redirectUri] });
    const browser = alice();
    const first = await authorize(browser, clientId);
    expect(first.outcome.kind === 'callback' && first.outcome.consentShown !== null).toBe(true);
    // A new browser of the same user (no oidc-provider session): still no click, the approval is the user's.
    const again = await authorize(alice(), clientId);
    expect(again.outcome.kind).toBe('callback');
    if (again.outcome.kind !== 'callback') return;
    expect(again.outcome.consentShown).toBeNull();
    expect(again.outcome.url.searchParams.has('code')).toBe(true);
    // Another client of the same user is asked.
    const otherClient = await register({ client_name: 'Another', redirect_uris: [redirectUri] });
    const third = await authorize(alice(), otherClient, { answer: 'stop' });
    expect(third.outcome.kind).toBe('page');
    // Another user of the same client is asked.
    const forBob = await authorize(bob(), clientId, { answer: 'stop' });
    expect(forBob.outcome.kind).toBe('page');
    if (forBob.outcome.kind === 'page') expect(forBob.outcome.html).toContain('bob@example.com');
  });

  it('the authorization server’s own session never signs anyone in: the hub session decides', async () => {
    const clientId = await register({ client_name: 'Session Check', redirect_uris: [redirectUri] });
    const browser = alice();
    await tokenFor(browser, clientId);
    expect(browser.jar.get(base, 'sb_as_session')).toBeDefined();
    // Alice signs out of the hub; the authorization server's cookie stays in the browser.
    await browser.signOut();
    expect(browser.jar.get(base, 'sb_as_session')).toBeDefined();
    browser.useCredentials({ email: 'bob@example.com', password: PASSWORD });
    const signInsBefore = browser.signIns;
    const token = await tokenFor(browser, clientId);
    // The browser was sent to the hub's sign-in page again, and the token is bob's.
    expect(browser.signIns).toBe(signInsBefore + 1);
    const record = await hub.repos.oauthServer.find('AccessToken', token);
    expect(record?.accountId).toBe(await userId('bob@example.com'));
  });

  it('AZ-08: a token bound to one server’s endpoint is refused elsewhere; a foreign resource is refused at once', async () => {
    const clientId = await register({ client_name: 'Audience', redirect_uris: [redirectUri] });
    const browser = alice();
    const probeToken = await tokenFor(browser, clientId, `${base}/mcp/servers/probe`);
    expect((await initialize('/mcp', probeToken)).status).toBe(401);
    expect((await initialize('/mcp/servers/other', probeToken)).status).toBe(401);
    const challenge = (await initialize('/mcp/servers/other', probeToken)).headers.get('www-authenticate');
    expect(challenge).toBe(
      `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp/servers/other"`,
    );
    // The aggregated resource covers each server's endpoint (authentication passes; the server is unknown).
    const allToken = await tokenFor(browser, clientId);
    expect((await initialize('/mcp/servers/nosuch', allToken)).status).not.toBe(401);
    // Not a resource of this hub: refused before any sign-in, back to the client as invalid_target.
    const foreign = await authorize(alice(), clientId, { resource: 'https://other.example/mcp' });
    expect(foreign.outcome.kind).toBe('callback');
    if (foreign.outcome.kind === 'callback') {
      expect(foreign.outcome.url.searchParams.get('error')).toBe('invalid_target');
    }
    // The REST API is another resource: never accepts these tokens.
    const api = await fetch(`${base}/api/mcp/tools`, { headers: { authorization: `Bearer ${allToken}` } });
    expect(api.status).toBe(401);
  });

  it('a password change ends every MCP client authorization of the user, and only theirs', async () => {
    for (const email of ['frank@example.com', 'gina@example.com']) {
      await hub.repos.users.create({ email, role: 'USER', passwordHash: await hashPassword(PASSWORD) });
    }
    const clientId = await register({ client_name: 'Frank App', redirect_uris: [redirectUri] });
    const browserOf = (email: string) => new HubBrowser(base, { email, password: PASSWORD });
    const frankToken = await tokenFor(browserOf('frank@example.com'), clientId);
    const ginaToken = await tokenFor(browserOf('gina@example.com'), clientId);
    expect((await initialize('/mcp', frankToken)).status).toBe(200);

    const changed = await fetch(`${base}/api/auth/password`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await hub.userToken('frank@example.com')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ currentPassword: PASSWORD, newPassword: `${PASSWORD} 2` }),
    });
    expect(changed.status).toBe(200);
    expect((await initialize('/mcp', frankToken)).status).toBe(401);
    const frankApps = await fetch(`${base}/api/auth/clients`, {
      headers: { authorization: `Bearer ${await hub.userToken('frank@example.com')}` },
    });
    expect(((await frankApps.json()) as { clients: unknown[] }).clients).toEqual([]);
    // Another user of the same client keeps their authorization.
    expect((await initialize('/mcp', ginaToken)).status).toBe(200);
  });

  it('a disabled account’s tokens stop working at once', async () => {
    await hub.repos.users.create({
      email: 'carol@example.com',
      role: 'USER',
      passwordHash: await hashPassword(PASSWORD),
    });
    const clientId = await register({ client_name: 'Carol App', redirect_uris: [redirectUri] });
    const token = await tokenFor(
      new HubBrowser(base, { email: 'carol@example.com', password: PASSWORD }),
      clientId,
    );
    expect((await initialize('/mcp', token)).status).toBe(200);
    await hub.repos.users.setDisabled(await userId('carol@example.com'), true);
    expect((await initialize('/mcp', token)).status).toBe(401);
  });

  it('disabling through the accounts service (API and command line) ends the grants, so re-enabling brings none back', async () => {
    await hub.repos.users.create({
      email: 'erin@example.com',
      role: 'USER',
      passwordHash: await hashPassword(PASSWORD),
    });
    const clientId = await register({ client_name: 'Erin App', redirect_uris: [redirectUri] });
    const token = await tokenFor(
      new HubBrowser(base, { email: 'erin@example.com', password: PASSWORD }),
      clientId,
    );
    const erin = await userId('erin@example.com');
    expect(await hub.repos.oauthServer.listForAccount('Grant', erin)).toHaveLength(1);
    // `null` is the command line's actor: the same service, so the same effect.
    await hub.accounts.update(null, erin, { disabled: true });
    expect(await hub.repos.oauthServer.listForAccount('Grant', erin)).toEqual([]);
    await hub.accounts.update(null, erin, { disabled: false });
    expect((await initialize('/mcp', token)).status).toBe(401);
  });

  it('the command line setting a password ends the user’s MCP client authorizations', async () => {
    await hub.repos.users.create({
      email: 'fay@example.com',
      role: 'USER',
      passwordHash: await hashPassword(PASSWORD),
    });
    const clientId = await register({ client_name: 'Fay App', redirect_uris: [redirectUri] });
    const token = await tokenFor(
      new HubBrowser(base, { email: 'fay@example.com', password: PASSWORD }),
      clientId,
    );
    expect((await initialize('/mcp', token)).status).toBe(200);
    // What `switchboard users set-password` opens: the same data directory, no HTTP app, no Redis.
    const cli = await openAdminContext(
      await loadConfig({ env: { DATA_DIR: hub.dataDir }, cwd: hub.dataDir }),
    );
    try {
      await cli.accounts.setPassword(null, await userId('fay@example.com'), `${PASSWORD} again`);
    } finally {
      await cli.close();
    }
    expect(await hub.repos.oauthServer.listForAccount('Grant', await userId('fay@example.com'))).toEqual([]);
    expect((await initialize('/mcp', token)).status).toBe(401);
  });

  it('AZ-12: removing a user deletes their grants and tokens at the hub’s authorization server', async () => {
    await hub.repos.users.create({
      email: 'dave@example.com',
      role: 'USER',
      passwordHash: await hashPassword(PASSWORD),
    });
    const clientId = await register({ client_name: 'Dave App', redirect_uris: [redirectUri] });
    const token = await tokenFor(
      new HubBrowser(base, { email: 'dave@example.com', password: PASSWORD }),
      clientId,
    );
    const dave = await userId('dave@example.com');
    expect(await hub.repos.oauthServer.listForAccount('Grant', dave)).toHaveLength(1);
    await hub.accounts.remove(null, dave);
    expect(await hub.repos.oauthServer.listForAccount('Grant', dave)).toEqual([]);
    expect(await hub.repos.oauthServer.find('AccessToken', token)).toBeNull();
    expect((await initialize('/mcp', token)).status).toBe(401);
  });

  it('connected apps: a user lists the clients they authorized and revokes one, for themselves only', async () => {
    const clientId = await register({ client_name: 'Listed App', redirect_uris: [redirectUri] });
    const aliceToken = await tokenFor(alice(), clientId);
    const bobToken = await tokenFor(bob(), clientId);
    const aliceJwt = await hub.userToken('alice@example.com');
    const listed = await fetch(`${base}/api/auth/clients`, {
      headers: { authorization: `Bearer ${aliceJwt}` },
    });
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as { clients: Array<Record<string, unknown>> };
    const entry = body.clients.find((c) => c.clientId === clientId);
    expect(entry).toMatchObject({
      clientName: 'Listed App',
      redirectHosts: ['127.0.0.1:49152'],
      resources: { [`${base}/mcp`]: 'mcp' },
    });
    expect(JSON.stringify(body)).not.toContain(aliceToken);

    const revoked = await fetch(`${base}/api/auth/clients/${encodeURIComponent(clientId)}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${aliceJwt}` },
    });
    expect(revoked.status).toBe(200);
    expect((await initialize('/mcp', aliceToken)).status).toBe(401);
    // Bob's grant to the same client is untouched.
    expect((await initialize('/mcp', bobToken)).status).toBe(200);
    const after = (await (
      await fetch(`${base}/api/auth/clients`, { headers: { authorization: `Bearer ${aliceJwt}` } })
    ).json()) as { clients: Array<Record<string, unknown>> };
    expect(after.clients.some((c) => c.clientId === clientId)).toBe(false);
    // Revoking what is not there: 404.
    const again = await fetch(`${base}/api/auth/clients/${encodeURIComponent(clientId)}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${aliceJwt}` },
    });
    expect(again.status).toBe(404);
  });

  it('a metadata document client id on a private address is never fetched (the users’ egress guard)', async () => {
    let connections = 0;
    const listener = net.createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = listener.address() as net.AddressInfo; // a TCP listen yields AddressInfo
      const { outcome } = await authorize(alice(), `https://127.0.0.1:${port}/client.json`);
      expect(outcome.kind).toBe('page');
      if (outcome.kind === 'page') expect(outcome.html).toContain('client_id metadata document fetch failed');
      expect(connections).toBe(0);
    } finally {
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
  });

  it('RFC 8252 §7.3 and §8.6: a native client’s loopback redirect may use any port, and it is asked every time; a web client’s must match exactly', async () => {
    const registered = 'http://127.0.0.1:40000/cb';
    const elsewhere = 'http://127.0.0.1:40001/cb';
    const native = await register({
      application_type: 'native',
      client_name: 'Native',
      redirect_uris: [registered],
    });
    const web = await register({ client_name: 'Web', redirect_uris: [registered] });
    const nativeOutcome = await authorize(alice(), native, { redirect: elsewhere, answer: 'stop' });
    expect(
      nativeOutcome.outcome.kind === 'page' && nativeOutcome.outcome.html.includes('Allow access?'),
    ).toBe(true);
    const webOutcome = await authorize(alice(), web, { redirect: elsewhere, answer: 'stop' });
    expect(webOutcome.outcome.kind === 'page' && webOutcome.outcome.status === 400).toBe(true);
    // RFC 8252 §8.6: a native client is asked every time, even once approved (any local app could
    // claim its id); a web client once approved goes on.
    const browser = alice();
    await authorize(browser, native, { redirect: elsewhere });
    const nativeAgain = await authorize(browser, native, { redirect: elsewhere, answer: 'stop' });
    expect(nativeAgain.outcome.kind).toBe('page');
    await authorize(browser, web, { redirect: registered });
    const webAgain = await authorize(browser, web, { redirect: registered });
    expect(webAgain.outcome.kind === 'callback' && webAgain.outcome.consentShown === null).toBe(true);
  });

  it('CORS: any origin may register; only a client’s own redirect origin may read its token answers', async () => {
    const preflight = await fetch(`${base}/oauth2/register`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    const registered = await fetch(`${base}/oauth2/register`, {
      method: 'POST',
      headers: { origin: 'https://app.example', 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none' }),
    });
    expect(registered.status).toBe(201);
    expect(registered.headers.get('access-control-allow-origin')).toBe('*');
    const clientId = ((await registered.json()) as { client_id: string }).client_id;
    const tokenRequest = (origin: string) =>
      fetch(`${base}/oauth2/token`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x', client_id: clientId }),
      });
    expect((await tokenRequest('https://app.example')).headers.get('access-control-allow-origin')).toBe(
      'https://app.example',
    );
    expect(
      (await tokenRequest('https://evil.example')).headers.get('access-control-allow-origin'),
    ).toBeNull();
  });

  it('its pages cannot be framed and are never cached', async () => {
    const clientId = await register({ client_name: 'Headers', redirect_uris: [redirectUri] });
    const stopped = await authorize(alice(), clientId, { answer: 'stop' });
    expect(stopped.outcome.kind).toBe('page');
    const browser = alice();
    await browser.signIn();
    const errorPage = await browser.request(
      `/oauth2/authorize?client_id=${clientId}&response_type=code&redirect_uri=${encodeURIComponent('https://x.example/')}`,
    );
    expect(errorPage.status).toBe(400);
    expect(errorPage.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(errorPage.headers.get('cache-control')).toBe('no-store');
    const unknown = await browser.request('/oauth2/interaction/nosuchinteraction');
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(unknown.headers.get('referrer-policy')).toBe('no-referrer');
  });
});

describe('behind a reverse proxy that serves the hub under a path (PUBLIC_URL with a path)', () => {
  let hub: TestHub;
  const PUBLIC_URL = 'https://hub.example.com/switchboard';

  beforeAll(async () => {
    hub = await startTestHub({ env: { PUBLIC_URL, TRUST_PROXY: 'true' } });
  });

  afterAll(async () => {
    await hub?.dispose();
  });

  /** A request as the proxy forwards it: the prefix stripped, the public host and scheme in X-Forwarded-*. */
  const proxied = (
    url: string,
    extra: { cookie?: string; method?: 'GET' | 'POST'; payload?: unknown } = {},
  ) =>
    hub.app.inject({
      method: extra.method ?? 'GET',
      url,
      headers: {
        'x-forwarded-host': 'hub.example.com',
        'x-forwarded-proto': 'https',
        ...(extra.cookie === undefined ? {} : { cookie: extra.cookie }),
      },
      ...(extra.payload === undefined ? {} : { payload: extra.payload as Record<string, unknown> }),
    });

  it('publishes its metadata with the path (RFC 8414 §3.1) and sends browsers to prefixed pages', async () => {
    const metadata = (await proxied('/.well-known/oauth-authorization-server/switchboard')).json<
      Record<string, unknown>
    >();
    expect(metadata).toMatchObject({
      issuer: PUBLIC_URL,
      authorization_endpoint: `${PUBLIC_URL}/oauth2/authorize`,
      token_endpoint: `${PUBLIC_URL}/oauth2/token`,
    });
    const registered = await proxied('/oauth2/register', {
      method: 'POST',
      payload: { redirect_uris: ['http://127.0.0.1:49155/cb'], token_endpoint_auth_method: 'none' },
    });
    expect(registered.statusCode).toBe(201);
    const clientId = registered.json<{ client_id: string }>().client_id;
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: 'http://127.0.0.1:49155/cb',
      scope: 'mcp',
      code_challenge: createHash('sha256').update('x'.repeat(43)).digest('base64url'),
      code_challenge_method: 'S256',
    });
    const started = await proxied(`/oauth2/authorize?${query.toString()}`);
    expect(started.statusCode).toBe(303);
    const interaction = started.headers.location ?? '';
    expect(interaction).toMatch(/^\/switchboard\/oauth2\/interaction\/[\w-]+$/);
    const cookie = started.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    expect(started.cookies.find((c) => c.name === 'sb_as_interaction')?.path).toBe(interaction);
    const page = await proxied(interaction.replace('/switchboard', ''), { cookie });
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe(
      `/switchboard/auth/signin?returnTo=${encodeURIComponent(interaction)}`,
    );
  });

  it('open registration has a budget per client address (30 a minute)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 31; i += 1) {
      const registered = await proxied('/oauth2/register', {
        method: 'POST',
        payload: { redirect_uris: ['http://127.0.0.1:49156/cb'], token_endpoint_auth_method: 'none' },
      });
      statuses.push(registered.statusCode);
    }
    // One registration was spent by the test before; the rest of the budget, then 429.
    expect(statuses.filter((status) => status === 201)).toHaveLength(29);
    expect(statuses.slice(29)).toEqual([429, 429]);
  });
});
