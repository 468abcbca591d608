import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { buildConnector } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/auth/index.js';
import { createHub, type Hub } from '../src/bootstrap/index.js';
import { loadConfig } from '../src/config/index.js';
import { createEgressGuard, type EgressGuard } from '../src/net/index.js';
import { scriptedResolver } from '../src/net/test-peers.js';
import { createLogger } from '../src/observability/index.js';
import { everythingStdioCommand } from './peers/everything.js';
import { HubBrowser } from './peers/hub-browser.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { recordHubSecrets } from './support/hub-secrets.js';
import { freePort, textOf } from './support/mcp-helpers.js';
import { recordLogOutput } from './support/run-record.js';

const PASSWORD = 'correct horse battery staple';
/** Every access and refresh token the clients received, for the log check at the end. */
const minted: string[] = [];
// The egress tests' self-signed certificate for `pinned.test` (its key protects nothing).
const CERT = readFileSync(new URL('../src/net/fixtures/pinned-test-cert.pem', import.meta.url), 'utf8');
const KEY = readFileSync(new URL('../src/net/fixtures/pinned-test-key.pem', import.meta.url), 'utf8');

/**
 * The OAuth half of an MCP client, as the SDK asks applications to write it: everything in
 * memory, and the authorization URL handed to the test's browser instead of a real one.
 */
class MemoryOAuthClient implements OAuthClientProvider {
  readonly authorizationUrls: URL[] = [];
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier = '';
  readonly #redirectUrl: string;
  readonly clientMetadataUrl?: string;

  constructor(redirectUrl: string, clientMetadataUrl?: string) {
    this.#redirectUrl = redirectUrl;
    if (clientMetadataUrl !== undefined) this.clientMetadataUrl = clientMetadataUrl;
  }

  get redirectUrl(): string {
    return this.#redirectUrl;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'SDK Test Client',
      redirect_uris: [this.#redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  clientInformation() {
    return this.#client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.#client = info;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens: OAuthTokens) {
    this.#tokens = tokens;
    minted.push(tokens.access_token, ...(tokens.refresh_token === undefined ? [] : [tokens.refresh_token]));
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrls.push(url);
  }
  saveCodeVerifier(verifier: string) {
    this.#verifier = verifier;
  }
  codeVerifier() {
    return this.#verifier;
  }
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') {
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
    if (scope === 'all' || scope === 'client') this.#client = undefined;
  }
}

/** The client's loopback redirect listener (RFC 8252 §7.3): it records each code it receives. */
async function startCallbackListener(): Promise<{ url: string; codes: string[]; stop(): Promise<void> }> {
  const codes: string[] = [];
  const server = http.createServer((req, res) => {
    const code = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('code');
    if (code !== null) codes.push(code);
    res.end('You can close this window.');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo; // a TCP listen yields AddressInfo
  return {
    url: `http://127.0.0.1:${port}/callback`,
    codes,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A Client ID Metadata Document served over TLS as `https://pinned.test:<port>/client.json`. */
async function startDocumentServer(redirectUri: string) {
  let fetches = 0;
  const server = https.createServer({ key: KEY, cert: CERT }, (req, res) => {
    fetches += 1;
    const self = `https://pinned.test:${(server.address() as AddressInfo).port}${req.url ?? ''}`;
    const metadata = {
      client_id: self,
      client_name: 'CIMD Test Client',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
    // Two documents the hub must refuse: one naming another client id, one holding a secret.
    const documents: Record<string, object> = {
      '/client.json': metadata,
      '/impostor.json': { ...metadata, client_id: 'https://pinned.test/someone-else.json' },
      '/secret.json': { ...metadata, client_secret: 'a-shared-secret-in-a-public-document' },
    };
    const document = documents[req.url ?? ''];
    if (document === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo; // a TCP listen yields AddressInfo
  return {
    clientId: `https://pinned.test:${port}/client.json`,
    urlOf: (file: string) => `https://pinned.test:${port}/${file}`,
    fetches: () => fetches,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('an MCP SDK client signs in to the hub by itself (OAuth 2.1, deliverable 5)', () => {
  let hub: Hub;
  let dataDir: string;
  let base: string;
  let offset = 0;
  let probe: ProbeServer;
  let documentGuard: EgressGuard;
  let callback: Awaited<ReturnType<typeof startCallbackListener>>;
  let documents: Awaited<ReturnType<typeof startDocumentServer>>;
  const logLines: string[] = [];
  const clients: Client[] = [];

  beforeAll(async () => {
    probe = await startProbeServer();
    callback = await startCallbackListener();
    documents = await startDocumentServer(callback.url);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    dataDir = await mkdtemp(path.join(tmpdir(), 'switchboard-test-'));
    const stdio = everythingStdioCommand();
    const yamlPath = path.join(dataDir, 'switchboard.yaml');
    await writeFile(
      yamlPath,
      `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  everything:
    command: ${JSON.stringify(stdio.command)}
    args: ${JSON.stringify(stdio.args)}
  probe:
    type: streamable-http
    url: ${probe.url}
`,
    );
    const config = await loadConfig({
      env: { DATA_DIR: dataDir, SWITCHBOARD_CONFIG: yamlPath, PUBLIC_URL: base, LOG_LEVEL: 'debug' },
      cwd: dataDir,
    });
    // The real egress guard, trusting the test certificate and resolving pinned.test to loopback.
    documentGuard = createEgressGuard({
      allowedDomains: ['pinned.test'],
      resolver: scriptedResolver(() => ['127.0.0.1']).resolver,
      dial: buildConnector({ ca: CERT, timeout: 2_000 }),
    });
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        const text = chunk.toString('utf8');
        logLines.push(...text.split('\n').filter(Boolean));
        recordLogOutput(text);
        done();
      },
    });
    hub = await createHub(config, {
      logger: createLogger({ level: 'debug', destination }),
      defaultMetrics: false,
      clock: { now: () => Date.now() + offset },
      authorizationServerFetch: documentGuard.withLimits({ maxResponseBytes: 16 * 1024, timeoutMs: 5_000 }),
    });
    recordHubSecrets(hub.app);
    await hub.startup.firstPass;
    await hub.app.listen({ port, host: '127.0.0.1' });
    await hub.repos.users.create({
      email: 'alice@example.com',
      role: 'USER',
      passwordHash: await hashPassword(PASSWORD),
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.close();
    await documentGuard?.close();
    await Promise.all([probe?.stop(), callback?.stop(), documents?.stop()]);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Connects as the SDK does: a 401 starts the OAuth dance, which ends at the browser. */
  async function connect(oauth: MemoryOAuthClient, endpoint = '/mcp'): Promise<Client> {
    const client = new Client({ name: 'sdk-oauth-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${base}${endpoint}`), {
      authProvider: oauth,
    });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  /** The whole first connection: 401 → discovery → registration → browser → code → token → connected. */
  async function authorizeAndConnect(oauth: MemoryOAuthClient, browser: HubBrowser, endpoint = '/mcp') {
    const first = new StreamableHTTPClientTransport(new URL(`${base}${endpoint}`), { authProvider: oauth });
    await expect(
      new Client({ name: 'sdk-oauth-test', version: '1.0.0' }).connect(first),
    ).rejects.toBeInstanceOf(UnauthorizedError);
    const authorizationUrl = oauth.authorizationUrls.at(-1);
    if (authorizationUrl === undefined) throw new Error('the SDK did not ask for a browser');
    const outcome = await browser.authorize(authorizationUrl.href, callback.url, 'approve');
    if (outcome.kind !== 'callback')
      throw new Error(`the browser stopped at a page: ${outcome.html.slice(0, 300)}`);
    // The browser lands on the client's loopback listener, which hands the code to the client.
    const before = callback.codes.length;
    await (await fetch(outcome.url)).text();
    expect(callback.codes).toHaveLength(before + 1);
    await first.finishAuth(callback.codes.at(-1) ?? '');
    return { client: await connect(oauth, endpoint), consent: outcome.consentShown };
  }

  it('discovery, registration, sign-in, consent, token, tools/call, refresh, revocation', async () => {
    const oauth = new MemoryOAuthClient(callback.url);
    const browser = new HubBrowser(base, { email: 'alice@example.com', password: PASSWORD });
    const { client, consent } = await authorizeAndConnect(oauth, browser);
    expect(consent).toContain('SDK Test Client');
    expect(browser.signIns).toBe(1);
    const registered = oauth.clientInformation();
    expect(registered?.client_id).toMatch(/^[A-Za-z0-9_-]+$/);

    const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'hello' } });
    expect(textOf(echo)).toContain('hello');

    // The access token runs out (15 minutes on the hub's clock): the next call answers 401, and the
    // SDK refreshes by itself, with no browser, and the refresh token rotates.
    const firstTokens = oauth.tokens();
    offset += 16 * 60_000;
    const again = await client.callTool({ name: 'everything__echo', arguments: { message: 'still here' } });
    expect(textOf(again)).toContain('still here');
    const refreshed = oauth.tokens();
    expect(refreshed?.access_token).not.toBe(firstTokens?.access_token);
    expect(refreshed?.refresh_token).toBeDefined();
    expect(refreshed?.refresh_token).not.toBe(firstTokens?.refresh_token);
    expect(oauth.authorizationUrls).toHaveLength(1);

    // The old refresh token was used up by the rotation.
    const replay = await fetch(`${base}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: firstTokens?.refresh_token ?? '',
        client_id: registered?.client_id ?? '',
      }),
    });
    expect(replay.status).toBe(400);

    // RFC 7009: the client revokes its refresh token (signing out); the grant and its tokens end,
    // so the next call is refused and the SDK can only send the user to the browser again.
    const revoked = await fetch(`${base}/oauth2/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: refreshed?.refresh_token ?? '',
        token_type_hint: 'refresh_token',
        client_id: registered?.client_id ?? '',
      }),
    });
    expect(revoked.status).toBe(200);
    const stale = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${refreshed?.access_token ?? ''}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    });
    expect(stale.status).toBe(401);
    await expect(
      client.callTool({ name: 'everything__echo', arguments: { message: 'gone' } }),
    ).rejects.toThrow();
    expect(oauth.authorizationUrls).toHaveLength(2);
  });

  it('the same with a Client ID Metadata Document as client_id (no registration)', async () => {
    const oauth = new MemoryOAuthClient(callback.url, documents.clientId);
    const browser = new HubBrowser(base, { email: 'alice@example.com', password: PASSWORD });
    const { client, consent } = await authorizeAndConnect(oauth, browser);
    expect(oauth.clientInformation()?.client_id).toBe(documents.clientId);
    expect(consent).toContain('CIMD Test Client');
    expect(consent).toContain(`published by <strong>${new URL(documents.clientId).host}</strong>`);
    expect(documents.fetches()).toBeGreaterThanOrEqual(1);
    // Nothing was registered: the document is the client's metadata, read (and cached) on use.
    expect(await hub.repos.oauthServer.find('Client', documents.clientId)).toBeNull();
    const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'cimd' } });
    expect(textOf(echo)).toContain('cimd');
  });

  it('a metadata document that names another client id, or holds a secret, is refused', async () => {
    for (const file of ['impostor.json', 'secret.json']) {
      const url = new URL(`${base}/oauth2/authorize`);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: documents.urlOf(file),
        redirect_uri: callback.url,
        scope: 'mcp',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      }).toString();
      const browser = new HubBrowser(base, { email: 'alice@example.com', password: PASSWORD });
      const outcome = await browser.authorize(url.href, callback.url, 'approve');
      expect(outcome.kind).toBe('page');
      if (outcome.kind === 'page') expect(outcome.status).toBe(400);
      expect(browser.signIns).toBe(0);
    }
  });

  it('AZ-08: a hub access token is never forwarded upstream (canary upstream)', async () => {
    const browser = new HubBrowser(base, { email: 'alice@example.com', password: PASSWORD });
    const everyServer = new MemoryOAuthClient(callback.url);
    const { client } = await authorizeAndConnect(everyServer, browser);
    // A client of one server's endpoint gets a token bound to that endpoint (its own resource).
    const oneServer = new MemoryOAuthClient(callback.url);
    const perServer = await authorizeAndConnect(oneServer, browser, '/mcp/servers/probe');
    expect(perServer.consent).toContain('the MCP server “probe” on Switchboard');
    const before = probe.recent().length;
    await client.callTool({ name: 'probe__echo', arguments: { message: 'canary' } });
    await perServer.client.callTool({ name: 'echo', arguments: { message: 'canary' } });
    const tokens = [everyServer.tokens()?.access_token ?? '', oneServer.tokens()?.access_token ?? ''];
    expect(tokens).not.toContain('');
    const seen = probe.recent();
    expect(seen.length).toBeGreaterThan(before);
    for (const request of seen) {
      expect(request.headers.authorization).toBeUndefined();
      for (const token of tokens) expect(JSON.stringify(request.headers)).not.toContain(token);
    }
  });

  it('no token, code or password ever reaches a log line', () => {
    const secrets = [...minted, ...callback.codes, PASSWORD];
    expect(minted.length).toBeGreaterThan(4);
    for (const line of logLines) for (const secret of secrets) expect(line).not.toContain(secret);
  });
});
