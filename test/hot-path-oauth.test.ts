import type { LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { credentialCounters } from '../src/credentials/index.js';
import { authorizeInBrowser } from './peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startTestHub, type TestHub } from './support/hub.js';

const postgresUrl = inject('postgresUrl');
const redisUrl = inject('redisUrl');
const PUBLIC_URL = 'http://127.0.0.1:39997';
const TOKEN_TTL_SECONDS = 60;

/**
 * Issue 15 (lean hot path): an OAuth upstream with a warm token costs no database read and no
 * decryption per call, on either of two instances sharing PostgreSQL and Redis; a refresh or a
 * revocation on one instance reaches the other's cache before its next call.
 */
describe.skipIf(!postgresUrl || !redisUrl)('hot path: cached OAuth tokens across two instances', () => {
  const schema = `hotpath_${process.pid}_${Date.now()}`;
  let admin: pg.Client;
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let first: TestHub;
  let second: TestHub;
  let alice: string;
  // The first instance's clock runs ahead on demand, so its stored token looks expired to it alone.
  let offset = 0;

  const call = (hub: TestHub): Promise<LightMyRequestResponse> =>
    hub.app.inject({
      method: 'POST',
      url: '/api/mcp/secure/tools/whoami/call',
      headers: { authorization: `Bearer ${alice}` },
      payload: { arguments: {} },
    });
  const expectAlice = async (hub: TestHub): Promise<void> => {
    const res = await call(hub);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<{ content: Array<{ text: string }> }>().content[0]!.text).toBe('alice');
  };

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    as = await startAuthorizationServer({ accessTokenTtlSeconds: TOKEN_TTL_SECONDS });
    mcp = await startProtectedMcpServer(as);
    const url = new URL(postgresUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const env = {
      PUBLIC_URL,
      DATABASE_URL: url.toString(),
      REDIS_URL: redisUrl,
      JWT_SECRET: 'hot-path-shared-secret-0123456789abcdef',
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
`;
    first = await startTestHub({ env, yaml, clock: { now: () => Date.now() + offset } });
    second = await startTestHub({ env, yaml });
    alice = await first.userToken('alice@example.com');

    const started = await call(first);
    expect(started.statusCode).toBe(401);
    const { callbackUrl } = await authorizeInBrowser(started.json<{ oauthUrl: string }>().oauthUrl, {
      loginHint: 'alice',
      redirectUriPrefix: `${PUBLIC_URL}/api/mcp/secure/oauth/callback`,
    });
    const cb = new URL(callbackUrl);
    const done = await first.app.inject({
      method: 'GET',
      url: `${cb.pathname}${cb.search}`,
      headers: { cookie: started.cookies.map((c) => `${c.name}=${c.value}`).join('; ') },
    });
    expect(done.statusCode).toBe(302);
  }, 60_000);

  afterAll(async () => {
    await first?.dispose();
    await second?.dispose();
    await mcp?.stop();
    await as?.stop();
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
  });

  it('warm calls on both instances read no stored token and decrypt nothing', async () => {
    await expectAlice(first);
    await expectAlice(second);
    const before = credentialCounters();
    for (let i = 0; i < 10; i += 1) await expectAlice(i % 2 === 0 ? first : second);
    expect(credentialCounters()).toEqual(before);
  });

  it('after a refresh on one instance, the other sends the new token', async () => {
    await expectAlice(second);
    const old = mcp.lastBearer();
    offset = (TOKEN_TTL_SECONDS + 5) * 1000;
    const refreshes = as.counts.refreshTokenGrants;
    await expectAlice(first);
    expect(as.counts.refreshTokenGrants - refreshes).toBe(1);
    const renewed = mcp.lastBearer();
    expect(renewed).not.toBe(old);
    await expectAlice(second);
    expect(mcp.lastBearer()).toBe(renewed);
  });

  it('after a revoke on one instance, the other no longer sends the revoked token', async () => {
    await expectAlice(second);
    const rejectedBefore = mcp.unauthorized;
    const revoked = await first.app.inject({
      method: 'POST',
      url: '/api/mcp/secure/disconnect?revoke=true',
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(revoked.statusCode, revoked.body).toBe(200);
    // The token is still a valid JWT to the upstream: only leaving it out makes the call fail.
    const after = await call(second);
    expect(after.statusCode, after.body).not.toBe(200);
    expect(mcp.unauthorized).toBeGreaterThan(rejectedBefore);
  });
});
