import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { aclBits, createDatabase, migrateToLatest } from '../src/store/index.js';
import { authorizeInBrowser } from './peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startTestHub, type TestHub } from './support/hub.js';
import {
  PGBOUNCER_EXAMPLE_CONFIG,
  pgBouncerBinary,
  startPgBouncer,
  type PgBouncer,
} from './support/pgbouncer.js';

const postgresUrl = inject('postgresUrl');
const redisUrl = inject('redisUrl');
// In CI PgBouncer is required: a missing binary fails the suite (startPgBouncer throws) instead of skipping it.
const runnable =
  postgresUrl !== '' && redisUrl !== '' && (pgBouncerBinary() !== null || process.env.CI === 'true');
const PUBLIC_URL = 'http://127.0.0.1:39997';

/**
 * Issue 17: the hub on PostgreSQL behind PgBouncer in transaction pooling mode, with the example
 * configuration the README documents. Each transaction may run on another server connection, so
 * anything the hub kept in a session (a SET, a session lock, a prepared statement) would break here.
 */
describe.skipIf(!runnable)('PostgreSQL through PgBouncer (transaction pooling)', () => {
  const database = `sb_pgbouncer_${process.pid}_${Date.now()}`;
  let admin: pg.Client;
  let bouncer: PgBouncer;
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  const hubs: TestHub[] = [];

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    bouncer = await startPgBouncer({ postgresUrl, database });
    as = await startAuthorizationServer();
    mcp = await startProtectedMcpServer(as);
  }, 30_000);

  afterAll(async () => {
    for (const hub of hubs) await hub.dispose();
    await mcp?.stop();
    await as?.stop();
    await bouncer?.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  const startHub = (): Promise<TestHub> =>
    startTestHub({
      env: {
        PUBLIC_URL,
        DATABASE_URL: bouncer.url,
        REDIS_URL: redisUrl,
        JWT_SECRET: 'pgbouncer-shared-secret-0123456789abcdefgh',
        CREDENTIALS_KEY: '3c'.repeat(32),
      },
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

  it('the example configuration pools transactions', async () => {
    const text = await readFile(PGBOUNCER_EXAMPLE_CONFIG, 'utf8');
    expect(text).toMatch(/^pool_mode = transaction$/m);
    // What the test runs is that file, so a session-level feature of the hub fails here.
    const client = new pg.Client({ connectionString: bouncer.url });
    await client.connect();
    try {
      expect((await client.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });

  it('two instances migrate a new database at once, and a later migration does not wait', async () => {
    hubs.push(...(await Promise.all([startHub(), startHub()])));
    for (const hub of hubs) {
      const ready = await hub.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.json()).toEqual({ status: 'ok', checks: { database: 'ok', kv: 'ok' } });
    }
    // A migration lock left behind on one of PgBouncer's server connections would block this one.
    const again = await createDatabase({ databaseUrl: bouncer.url, sqlitePath: 'unused.db' });
    try {
      expect(await migrateToLatest(again.db)).toEqual([]);
    } finally {
      await again.close();
    }
  }, 60_000);

  it('the store works through it: users, servers, ACL, transactions, credentials, audit', async () => {
    const [first, second] = hubs as [TestHub, TestHub];
    const owner = await first.repos.users.create({ email: 'pool-owner@example.com' });
    expect((await second.repos.users.findByEmail('POOL-owner@example.com'))?.id).toBe(owner.id);
    const server = await first.repos.servers.create({ name: 'pooled', ownerId: owner.id, config: {} });
    await second.repos.acl.grant({
      resourceId: server.id,
      principal: { type: 'public' },
      permBits: aclBits.VIEW,
      grantedBy: owner.id,
    });
    expect((await first.repos.acl.listForResource(server.id)).map((e) => e.principal.type)).toEqual([
      'public',
    ]);
    // A failed transaction leaves nothing behind, whichever server connections its statements met.
    await expect(
      first.repos.transaction(async (trx) => {
        await trx.servers.create({ name: 'rolled-back', ownerId: owner.id, config: {} });
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await second.repos.servers.findByName('rolled-back')).toBeNull();
    // Many transactions at once from both instances, more than PgBouncer has server connections.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        hubs[i % 2]!.repos.transaction(async (trx) => {
          await trx.credentials.put({
            userId: owner.id,
            serverName: `pooled-${i}`,
            kind: 'user_vars',
            keyId: 'k1',
            ciphertext: `c${i}`,
          });
          await trx.audit.record({ actorId: owner.id, action: 'server.update', targetType: 'server' });
        }),
      ),
    );
    expect((await first.repos.credentials.listForUser(owner.id)).length).toBe(40);
    expect((await second.repos.audit.list({ limit: 100 })).events.length).toBeGreaterThanOrEqual(40);
    expect(await second.repos.servers.delete('pooled')).toBe(true);
  }, 30_000);

  it('an OAuth flow stores the tokens through one instance and the other reads and uses them', async () => {
    const [first, second] = hubs as [TestHub, TestHub];
    const token = await first.userToken('pool-alice@example.com');
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
    const done = await first.app.inject({
      method: 'GET',
      url: `${cb.pathname}${cb.search}`,
      headers: { cookie: started.cookies.map((c) => `${c.name}=${c.value}`).join('; ') },
    });
    expect(done.headers.location).toBe(`${PUBLIC_URL}/oauth/success?serverName=secure`);
    const used = await call(second);
    expect(used.statusCode).toBe(200);
    expect(used.json<{ content: Array<{ text: string }> }>().content[0]!.text).toBe('alice');
    const alice = await second.repos.users.findByEmail('pool-alice@example.com');
    const kinds = (await second.repos.credentials.listForUser(alice!.id)).map((c) => c.kind);
    expect(kinds).toContain('oauth_tokens');
  }, 60_000);
});
