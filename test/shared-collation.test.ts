import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodeDocument } from '../src/servers/stored-server.js';
import { startTestHub, type TestHub } from './support/hub.js';

const postgresUrl = inject('postgresUrl');

/** Names whose order differs between a linguistic collation (en-US: `a_b a-b a1 ab`) and bytes. */
const NAMES = ['ab', 'a1', 'a_b', 'a-b', 'a-c', 'b', 'A0', 'a__'];
const EMAILS = ['a_b@example.com', 'a-b@example.com', 'a1@example.com', 'ab@example.com', 'a.b@example.com'];
/** A YAML server between them: the listing merges YAML names (sorted in JavaScript) with database pages. */
const YAML = `
mcpServers:
  a0z:
    type: streamable-http
    url: http://127.0.0.1:9/mcp
`;

/** Every server name the admin lists, one page at a time, following the cursor. */
async function pagedNames(hub: TestHub, token: string): Promise<string[]> {
  const names: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 50; pages += 1) {
    const query = after === undefined ? '' : `&after=${encodeURIComponent(after)}`;
    const res = await hub.app.inject({
      method: 'GET',
      url: `/api/mcp/servers?limit=2${query}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    names.push(...Object.keys(res.json<Record<string, unknown>>()));
    const next = res.headers['x-next-cursor'];
    if (typeof next !== 'string') return names;
    after = next;
  }
  throw new Error('the listing never ended');
}

/** Creates the servers (owned by an admin) and the users on one hub, then lists both. */
async function orders(hub: TestHub): Promise<{ servers: string[]; emails: string[] }> {
  const token = await hub.userToken('admin@example.com', 'ADMIN');
  const admin = await hub.repos.users.findByEmail('admin@example.com');
  for (const name of NAMES) {
    const config = { type: 'streamable-http' as const, url: 'http://127.0.0.1:9/mcp', title: name };
    await hub.repos.servers.create({
      name,
      ownerId: admin!.id,
      config: encodeDocument(config, { requiresOAuth: false, toolCount: 0, inspectedAt: 0 }),
    });
  }
  for (const email of EMAILS) await hub.repos.users.create({ email });
  const emails = (await hub.repos.users.list()).map((u) => u.email);
  return { servers: await pagedNames(hub, token), emails };
}

/**
 * Issue 17: orderings and keyset cursors must not depend on PostgreSQL's collation. The database
 * here is created with ICU's en-US collation; the API's order must be SQLite's (bytes).
 */
describe.skipIf(!postgresUrl)('orderings do not depend on the PostgreSQL collation', () => {
  const database = `sb_collation_${process.pid}_${Date.now()}`;
  let admin: pg.Client;
  let onSqlite: TestHub;
  let onPostgres: TestHub;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(
      `CREATE DATABASE ${database} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`,
    );
    const url = new URL(postgresUrl);
    url.pathname = `/${database}`;
    onSqlite = await startTestHub({ yaml: YAML });
    onPostgres = await startTestHub({ yaml: YAML, env: { DATABASE_URL: url.toString() } });
  }, 30_000);

  afterAll(async () => {
    await onSqlite?.dispose();
    await onPostgres?.dispose();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('the database really sorts these names differently from bytes', async () => {
    const { rows } = await admin.query<{ x: string }>(
      `SELECT x FROM unnest($1::text[]) x ORDER BY x COLLATE "en-US-x-icu"`,
      [['a-b', 'a1', 'a_b', 'ab']],
    );
    expect(rows.map((r) => r.x)).toEqual(['a_b', 'a-b', 'a1', 'ab']);
  });

  it('servers page by name and users list by email in the same order as on SQLite', async () => {
    const expected = await orders(onSqlite);
    const byCodeUnit = (list: string[]) => [...list].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(expected.servers).toEqual(
      byCodeUnit(['a0z', ...NAMES.map((n) => n.toLowerCase())]).map((key) =>
        [...NAMES, 'a0z'].find((n) => n.toLowerCase() === key),
      ),
    );
    const actual = await orders(onPostgres);
    expect(actual.servers).toEqual(expected.servers);
    expect(actual.emails).toEqual(expected.emails);
  }, 30_000);
});
