import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startOidcIdp, type TestIdp } from './peers/oidc-idp.js';
import { SsoBrowser } from './peers/sso-browser.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { freePort } from './support/mcp-helpers.js';

const postgresUrl = inject('postgresUrl');
const redisUrl = inject('redisUrl');

/** Single sign-on behind a load balancer: started on one instance, finished on another (PostgreSQL + Redis). */
describe.skipIf(!postgresUrl || !redisUrl)('single sign-on across two hub instances', () => {
  const schema = `sso2x_${process.pid}_${Date.now()}`;
  let admin: pg.Client;
  let idp: TestIdp;
  let first: TestHub;
  let second: TestHub;
  let base: string;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    idp = await startOidcIdp({
      clients: [
        { clientId: 'hub', clientSecret: 'idp-client-secret', redirectUri: `${base}/auth/sso/oidc/callback` },
      ],
    });
    const url = new URL(postgresUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const env = {
      PUBLIC_URL: base,
      DATABASE_URL: url.toString(),
      REDIS_URL: redisUrl,
      JWT_SECRET: 'sso-two-instances-shared-secret-0123456789',
      CREDENTIALS_KEY: '3c'.repeat(32),
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: 'hub',
      OIDC_CLIENT_SECRET: 'idp-client-secret',
      OIDC_NAME: 'Acme',
      OIDC_GROUPS_CLAIM: 'groups',
      OIDC_SYNC_GROUPS: 'true',
    };
    first = await startTestHub({ env });
    second = await startTestHub({ env });
    await first.app.listen({ port, host: '127.0.0.1' });
  }, 60_000);

  afterAll(async () => {
    await first?.dispose();
    await second?.dispose();
    await idp?.stop();
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
  });

  it('a sign-in started on one instance finishes on the other, and the session works on both; a replay on the first is refused', async () => {
    idp.accounts.set('alice', { email: 'alice@acme.example', email_verified: true, groups: ['eng'] });
    const browser = new SsoBrowser('alice', [idp.issuer]);
    // The provider from OIDC_* has the id oidc.
    const stopped = await browser.open(
      `${base}/auth/sso/oidc/start?returnTo=%2Fapi%2Fauth%2Fsession`,
      (next) => next.pathname.endsWith('/callback'),
    );
    expect(stopped.url.pathname).toBe('/auth/sso/oidc/callback');

    const finished = await second.app.inject({
      method: 'GET',
      url: `${stopped.url.pathname}${stopped.url.search}`,
      headers: { cookie: browser.jar.header(stopped.url) },
    });
    expect(finished.statusCode, finished.body).toBe(303);
    expect(finished.headers.location).toBe('/api/auth/session');
    const session = [finished.headers['set-cookie']]
      .flat()
      .map((c) => c?.split(';')[0] ?? '')
      .find((c) => c.includes('sb_session='));
    expect(session).toBeDefined();

    const onFirst = await first.app.inject({
      method: 'GET',
      url: '/api/auth/session',
      headers: { cookie: session! },
    });
    expect(onFirst.statusCode).toBe(200);
    const user = onFirst.json<{ user: { id: string; email: string } }>().user;
    expect(user.email).toBe('alice@acme.example');
    const eng = await first.repos.groups.findByName('eng');
    expect(eng?.source).toBe('oidc:oidc');
    expect(await first.repos.groups.listGroupIdsForUser(user.id)).toEqual([eng!.id]);

    // The pending sign-in lived in Redis and was consumed there: the first instance refuses it too.
    const replay = await first.app.inject({
      method: 'GET',
      url: `${stopped.url.pathname}${stopped.url.search}`,
      headers: { cookie: browser.jar.header(stopped.url) },
    });
    expect(replay.statusCode).toBe(400);
  });
});
