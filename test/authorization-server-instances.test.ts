import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../src/auth/index.js';
import { HubBrowser } from './peers/hub-browser.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { freePort } from './support/mcp-helpers.js';

const postgresUrl = inject('postgresUrl');
const PASSWORD = 'correct horse battery staple';

/**
 * Two hub instances on one PostgreSQL database, as behind a load balancer: the authorization
 * server's keys, clients, codes, grants and tokens are shared, so any instance finishes what
 * another started.
 */
// Skipped only without PostgreSQL; under CI=true the global setup fails the run instead.
describe.skipIf(!postgresUrl)('the authorization server across two instances', () => {
  const schema = `as2x_${process.pid}_${Date.now()}`;
  let admin: pg.Client;
  let first: TestHub;
  let second: TestHub;
  let base: string;
  const redirectUri = 'http://127.0.0.1:49153/callback';

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = new URL(postgresUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env = {
      PUBLIC_URL: base,
      DATABASE_URL: url.toString(),
      JWT_SECRET: 'two-instances-shared-secret-0123456789abcdef',
      CREDENTIALS_KEY: '5c'.repeat(32),
    };
    // Started together: both may generate a key, and both must then agree on the oldest.
    [first, second] = await Promise.all([startTestHub({ env }), startTestHub({ env })]);
    await first.app.listen({ port, host: '127.0.0.1' });
    await first.repos.users.create({
      email: 'alice@example.com',
      role: 'USER',
      passwordHash: await hashPassword(PASSWORD),
    });
  }, 60_000);

  afterAll(async () => {
    await first?.dispose();
    await second?.dispose();
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
  });

  /** A form post to the second instance, which never listens (in-process requests). */
  const postForm = (hub: TestHub, url: string, form: Record<string, string>) =>
    hub.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(form).toString(),
    });

  const initialize = (hub: TestHub, path: string, token: string) =>
    hub.app.inject({
      method: 'POST',
      url: path,
      headers: {
        // As a load balancer forwards it: the public host, which /mcp checks (DNS rebinding).
        host: new URL(base).host,
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      payload: {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      },
    });

  it('both publish the same signing keys', async () => {
    const keysOf = async (hub: TestHub) =>
      (await hub.app.inject({ url: '/oauth2/jwks' })).json<{ keys: unknown[] }>();
    const [one, two] = await Promise.all([keysOf(first), keysOf(second)]);
    expect(one.keys.length).toBeGreaterThan(0);
    expect(two).toEqual(one);
    // The private halves never leave: a JWKS shows public keys only.
    expect(JSON.stringify(one)).not.toMatch(/"d"\s*:/);
  });

  it('registered on one, authorized on one, redeemed, used, refreshed and revoked on the other', async () => {
    const registered = await second.app.inject({
      method: 'POST',
      url: '/oauth2/register',
      payload: { client_name: 'Balanced', redirect_uris: [redirectUri], token_endpoint_auth_method: 'none' },
    });
    expect(registered.statusCode).toBe(201);
    const clientId = registered.json<{ client_id: string }>().client_id;

    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(`${base}/oauth2/authorize`);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: 'mcp',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const browser = new HubBrowser(base, { email: 'alice@example.com', password: PASSWORD });
    const outcome = await browser.authorize(authorize.href, redirectUri, 'approve');
    if (outcome.kind !== 'callback') throw new Error('the browser stopped at a page');

    const redeemed = await postForm(second, '/oauth2/token', {
      grant_type: 'authorization_code',
      client_id: clientId,
      code: outcome.url.searchParams.get('code') ?? '',
      code_verifier: verifier,
      redirect_uri: redirectUri,
    });
    expect(redeemed.statusCode, redeemed.body).toBe(200);
    const tokens = redeemed.json<{ access_token: string; refresh_token: string }>();
    const used = await initialize(first, '/mcp', tokens.access_token);
    expect(used.statusCode, used.body).toBe(200);
    expect((await initialize(second, '/mcp', tokens.access_token)).statusCode).toBe(200);

    const refreshed = await postForm(first, '/oauth2/token', {
      grant_type: 'refresh_token',
      client_id: clientId,
      refresh_token: tokens.refresh_token,
    });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    const rotated = refreshed.json<{ access_token: string; refresh_token: string }>();
    // The used refresh token is spent on every instance.
    const replay = await postForm(second, '/oauth2/token', {
      grant_type: 'refresh_token',
      client_id: clientId,
      refresh_token: tokens.refresh_token,
    });
    expect(replay.statusCode).toBe(400);

    const revoked = await postForm(second, '/oauth2/revoke', {
      token: rotated.refresh_token,
      token_type_hint: 'refresh_token',
      client_id: clientId,
    });
    expect(revoked.statusCode).toBe(200);
    expect((await initialize(first, '/mcp', rotated.access_token)).statusCode).toBe(401);
  });
});
