import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { authorizeInBrowser } from './peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { mustRunRedisSuites, startRedisCluster } from './support/redis-cluster.js';

const postgresUrl = inject('postgresUrl');
const redisUrl = inject('redisUrl');
const PUBLIC_URL = 'http://127.0.0.1:39998';

/** The shared Redis of both instances: its environment for the hubs, and how to stop what the test started. */
interface SharedRedis {
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Each Redis set-up the instances may share: the machine's single server, and (issue 17) a 3-node
 * Redis Cluster the test starts on loopback, where the refresh lock and its release event must
 * hold across slots and nodes.
 */
const setups = [
  {
    redis: 'one Redis server',
    runs: redisUrl !== '',
    readyLine: '"redis":"redis redis://',
    start: (): Promise<SharedRedis> =>
      Promise.resolve({ env: { REDIS_URL: redisUrl }, stop: () => Promise.resolve() }),
  },
  {
    redis: 'a 3-node Redis Cluster',
    runs: mustRunRedisSuites,
    readyLine: '"redis":"redis cluster 127.0.0.1:',
    start: async (): Promise<SharedRedis> => {
      const cluster = await startRedisCluster();
      return { env: { REDIS_CLUSTER_NODES: cluster.nodesEnv }, stop: () => cluster.stop() };
    },
  },
];

/**
 * Issue 4: two hub instances sharing one PostgreSQL database and one Redis; 20 concurrent calls
 * just after the access token expired, spread over both → exactly one refresh at the AS (LD-04/05).
 */
describe.each(setups)('OAuth refresh across two hub instances on $redis', ({ runs, start, readyLine }) => {
  if (!postgresUrl || !runs) {
    it.skip('needs PostgreSQL and this Redis set-up');
    return;
  }
  const schema = `oauth2x_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  let redis: SharedRedis | undefined;
  let admin: pg.Client;
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let first: TestHub;
  let second: TestHub;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    redis = await start();
    as = await startAuthorizationServer({ accessTokenTtlSeconds: 3 });
    mcp = await startProtectedMcpServer(as);
    const url = new URL(postgresUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const env = {
      PUBLIC_URL,
      DATABASE_URL: url.toString(),
      ...redis.env,
      JWT_SECRET: 'two-instances-shared-secret-0123456789abcdef',
      CREDENTIALS_KEY: '7a'.repeat(32),
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
    first = await startTestHub({ env, yaml });
    second = await startTestHub({ env, yaml });
  }, 60_000);

  afterAll(async () => {
    await first?.dispose();
    await second?.dispose();
    await mcp?.stop();
    await as?.stop();
    await redis?.stop();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('a flow started on one instance completes on the other; after expiry 20 calls over both refresh once', async () => {
    // Each instance says which set-up it runs on.
    for (const hub of [first, second]) expect(hub.logLines.some((l) => l.includes(readyLine))).toBe(true);
    const token = await first.userToken('alice@example.com');
    const call = (hub: TestHub) =>
      hub.app.inject({
        method: 'POST',
        url: '/api/mcp/secure/tools/whoami/call',
        headers: { authorization: `Bearer ${token}` },
        payload: { arguments: {} },
      });
    const started = await call(first);
    expect(started.statusCode).toBe(401);
    const { callbackUrl } = await authorizeInBrowser(started.json<{ oauthUrl: string }>().oauthUrl, {
      loginHint: 'alice',
      redirectUriPrefix: `${PUBLIC_URL}/api/mcp/secure/oauth/callback`,
    });
    const cb = new URL(callbackUrl);
    const cookie = started.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    // The callback lands on the OTHER instance: the flow lives in Redis, not in a process.
    const done = await second.app.inject({
      method: 'GET',
      url: `${cb.pathname}${cb.search}`,
      headers: { cookie },
    });
    expect(done.headers.location).toBe(`${PUBLIC_URL}/oauth/success?serverName=secure`);
    for (const hub of [first, second]) {
      const res = await call(hub);
      expect(res.statusCode).toBe(200);
    }

    await new Promise((r) => setTimeout(r, 3500));
    const refreshesBefore = as.counts.refreshTokenGrants;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(i % 2 === 0 ? first : second)),
    );
    for (const res of results) {
      expect(res.statusCode).toBe(200);
      expect(res.json<{ content: Array<{ text: string }> }>().content[0]!.text).toBe('alice');
    }
    expect(as.counts.refreshTokenGrants - refreshesBefore).toBe(1);
    expect(as.counts.failedGrants).toBe(0);
  });
});
