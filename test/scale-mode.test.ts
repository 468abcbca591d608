import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../src/auth/index.js';
import { startTestHub, type TestHub } from './support/hub.js';

const postgresUrl = inject('postgresUrl');
const redisUrl = inject('redisUrl');

/** The hub on PostgreSQL + Redis, as several instances would run it. */
describe.skipIf(!postgresUrl || !redisUrl)('scale mode: PostgreSQL and Redis', () => {
  const schema = `hub_${process.pid}_${Date.now()}`;
  const JWT_SECRET = 'a-shared-secret-for-both-instances-000000';
  const CREDENTIALS_KEY = 'cd'.repeat(32);
  let admin: pg.Client;
  let first: TestHub;
  let second: TestHub;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const url = new URL(postgresUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const env = { DATABASE_URL: url.toString(), REDIS_URL: redisUrl, JWT_SECRET, CREDENTIALS_KEY };
    first = await startTestHub({ env });
    second = await startTestHub({ env });
  });

  afterAll(async () => {
    await first?.dispose();
    await second?.dispose();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('both instances are ready against PostgreSQL and Redis', async () => {
    for (const hub of [first, second]) {
      const res = await hub.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.json()).toEqual({ status: 'ok', checks: { database: 'ok', kv: 'ok' } });
    }
    expect(
      first.logLines.some((l) => l.includes('"database":"postgres"') && l.includes('"kv":"redis"')),
    ).toBe(true);
  });

  it('a user created through one instance logs in through the other', async () => {
    await first.repos.users.create({
      email: 'shared@example.com',
      passwordHash: await hashPassword('shared-password'),
    });
    const login = await second.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'shared@example.com', password: 'shared-password' },
    });
    expect(login.statusCode).toBe(200);
    const token = login.json<{ token: string }>().token;
    const me = await first.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(me.json()).toMatchObject({ email: 'shared@example.com' });
  });

  it('the tables live in PostgreSQL (not a local file)', async () => {
    const { rows } = await admin.query<{ count: string }>(
      `SELECT count(*) FROM ${schema}.users WHERE email = 'shared@example.com'`,
    );
    expect(rows[0]?.count).toBe('1');
  });

  it('readiness reports the KV down when Redis is unreachable', async () => {
    const url = new URL(postgresUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const broken = await startTestHub({
      env: { DATABASE_URL: url.toString(), REDIS_URL: 'redis://127.0.0.1:1', JWT_SECRET, CREDENTIALS_KEY },
    });
    try {
      const res = await broken.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'unavailable', checks: { database: 'ok', kv: 'down' } });
    } finally {
      await broken.dispose();
    }
  });
});
