import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PrivateRedis } from './peers/private-redis.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { freePort } from './support/mcp-helpers.js';

const postgresUrl = inject('postgresUrl');

/** Listens on a kernel-picked loopback port and returns the base URL. */
async function listen(hub: TestHub): Promise<string> {
  await hub.app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
}

/** An OAuth server: a call first reads the caller's authorization state from the KV. */
const YAML = `
mcpServers:
  remote:
    type: streamable-http
    url: http://127.0.0.1:9/mcp
    requiresOAuth: true
`;

/**
 * Issue 14, finding 5: a dependency that is away answers a fast 503 naming it, with Retry-After,
 * instead of a 500 after the Redis command timeout or a request hanging on a blocked query.
 */
describe('dependency outages: a fast 503 with Retry-After', () => {
  describe('Redis stops and comes back', () => {
    let redis: PrivateRedis;
    let hub: TestHub;
    let base: string;
    let token: string;

    beforeAll(async () => {
      redis = new PrivateRedis(await freePort());
      await redis.start();
      hub = await startTestHub({ env: { REDIS_URL: redis.url }, yaml: YAML });
      base = await listen(hub);
      token = await hub.userToken('alice@example.com');
    }, 60_000);

    afterAll(async () => {
      await hub?.dispose();
      await redis?.stop();
    });

    const callTool = (): Promise<Response> =>
      fetch(`${base}/api/mcp/remote/tools/anything/call`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ arguments: {} }),
      });

    it('answers 503 HUB_ERR_KV_UNAVAILABLE with Retry-After while Redis is down, and recovers by itself', async () => {
      const before = await callTool();
      expect(before.status).not.toBe(503); // whatever the unreachable server makes of it, Redis answered
      await before.text();

      await redis.stop();
      // ioredis sees the socket close and starts reconnecting; from then on commands fail at once.
      await expect
        .poll(
          async () =>
            await hub.kv.ping().then(
              () => 'up',
              () => 'down',
            ),
        )
        .toBe('down');
      const during = await callTool();
      expect(during.status).toBe(503);
      expect(during.headers.get('retry-after')).toBe('5');
      expect(await during.json()).toMatchObject({ code: 'HUB_ERR_KV_UNAVAILABLE', dependency: 'redis' });

      await redis.start();
      await expect.poll(async () => (await callTool()).status).not.toBe(503);
    });
  });

  describe.skipIf(!postgresUrl)('PostgreSQL: a query blocked by a lock', () => {
    const schema = `outages_${process.pid}_${Date.now()}`;
    let admin: pg.Client;
    let locker: pg.Client;
    let hub: TestHub;
    let base: string;
    let token: string;

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: postgresUrl });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${schema}`);
      const url = new URL(postgresUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      // Without Redis the account row is read on every request: locking `users` blocks them all. A
      // short statement timeout for the test (the default is 10 s), set the way an operator can.
      url.searchParams.set('statement_timeout', '300');
      hub = await startTestHub({ env: { DATABASE_URL: url.toString() }, yaml: YAML });
      base = await listen(hub);
      token = await hub.userToken('bob@example.com');
      locker = new pg.Client({ connectionString: postgresUrl });
      await locker.connect();
    }, 60_000);

    afterAll(async () => {
      await locker?.query('ROLLBACK').catch(() => undefined);
      await locker?.end();
      await hub?.dispose();
      await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin?.end();
    });

    const listServers = (): Promise<Response> =>
      fetch(`${base}/api/mcp/servers`, { headers: { authorization: `Bearer ${token}` } });

    it('answers 503 HUB_ERR_DB_UNAVAILABLE with Retry-After instead of hanging, then serves again', async () => {
      expect((await listServers()).status).toBe(200);
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${schema}.users IN ACCESS EXCLUSIVE MODE`);
      const during = await listServers();
      expect(during.status).toBe(503);
      expect(during.headers.get('retry-after')).toBe('5');
      expect(await during.json()).toMatchObject({ code: 'HUB_ERR_DB_UNAVAILABLE', dependency: 'database' });
      await locker.query('ROLLBACK');
      expect((await listServers()).status).toBe(200);
    });
  });

  describe('an MCP server that goes away mid-call', () => {
    let probe: ProbeServer;
    let hub: TestHub;
    let base: string;
    let token: string;

    beforeAll(async () => {
      probe = await startProbeServer();
      hub = await startTestHub({
        yaml: `
mcpServers:
  probe:
    type: streamable-http
    url: ${probe.url}
`,
      });
      base = await listen(hub);
      token = await hub.userToken('carol@example.com');
    }, 60_000);

    afterAll(async () => {
      await hub?.dispose();
      await probe?.stop();
    });

    /** The parsed log lines that report this failure, however the route words it. */
    const failureLines = (): Record<string, unknown>[] =>
      hub.logLines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.errorCode === 'HUB_ERR_UPSTREAM_UNAVAILABLE');

    it('is a 502 logged once at warn with its cause and no stack trace, not at error', async () => {
      const res = await fetch(`${base}/api/mcp/probe/tools/crash/call`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ arguments: {} }),
      });
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ code: 'HUB_ERR_UPSTREAM_UNAVAILABLE' });
      await expect.poll(() => failureLines().length).toBe(1);
      const [line] = failureLines();
      expect(line).toMatchObject({ level: 40, msg: 'request failed', status: 502 });
      expect(line).toHaveProperty('cause.message');
      expect(JSON.stringify(line)).not.toContain('"stack"');
    });
  });
});
