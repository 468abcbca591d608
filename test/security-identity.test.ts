import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hashPassword } from '../src/auth/index.js';
import { authorizeInBrowser } from './peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startEverything, type RunningEverything } from './peers/everything.js';
import { until } from './support/mcp-helpers.js';
import { startTestHub, type TestHub } from './support/hub.js';

const JWT_SECRET = 'security-identity-shared-secret-0123456789';
const IDP_ISSUER = 'https://idp.test';

/** A loopback identity provider: an RS256 key pair and its JWKS, as an OIDC issuer publishes it. */
interface TestIdp {
  jwksUrl: string;
  sign(claims: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

async function startIdp(): Promise<TestIdp> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' };
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const key: CryptoKey = privateKey;
  return {
    jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`,
    sign: (claims) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'idp-1' })
        .setIssuer(IDP_ISSUER)
        .setExpirationTime('5m')
        .sign(key),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A token as LibreChat signs it with the shared JWT_SECRET: HS256, an `id` claim, no issuer. */
const librechat = (claims: Record<string, unknown>): Promise<string> =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(JWT_SECRET));

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** Reads until `accept` holds or `timeoutMs` passes, and returns the last value read. */
async function eventually<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 2_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await delay(10);
  }
}

interface Me {
  id: string;
  email: string;
  role: 'USER' | 'ADMIN';
}

describe('identity and accounts (V-02, V-04, V-06, V-11, V-12)', () => {
  let idp: TestIdp;
  let probe: ProbeServer;
  let everything: RunningEverything;
  let hub: TestHub;
  let admin: string;
  let adminId: string;

  const me = (token: string, on: TestHub = hub) =>
    on.app.inject({ method: 'GET', url: '/api/auth/me', headers: auth(token) });
  const adminApi = (
    method: 'GET' | 'PATCH' | 'DELETE',
    url: string,
    token: string,
    payload?: unknown,
    on: TestHub = hub,
  ) =>
    on.app.inject({
      method,
      url,
      headers: auth(token),
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
  const idOf = async (email: string): Promise<string> => (await hub.repos.users.findByEmail(email))!.id;

  beforeAll(async () => {
    [idp, probe, everything] = await Promise.all([
      startIdp(),
      startProbeServer(),
      startEverything('streamableHttp'),
    ]);
    const allowed = [probe.url, everything.url].map((u) => `'127.0.0.1:${new URL(u).port}'`).join(', ');
    hub = await startTestHub({
      env: { JWT_SECRET, AUTH_JWKS_URL: idp.jwksUrl, AUTH_ISSUER: IDP_ISSUER },
      yaml: `
mcpSettings:
  allowedDomains: [${allowed}]
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: false } }
mcpServers:
  plain:
    type: streamable-http
    url: ${probe.url}
  keyed:
    type: streamable-http
    url: ${probe.url}
    headers:
      X-Api-Key: "{{API_KEY}}"
    customUserVars:
      API_KEY: { title: API key, description: Your key }
  lcid:
    type: streamable-http
    url: ${probe.url}
    headers:
      X-Api-Key: "{{LIBRECHAT_USER_ID}}"
    access:
      users: [lc-app-77]
`,
    });
    admin = await hub.userToken('root@example.com', 'ADMIN');
    adminId = await idOf('root@example.com');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await Promise.all([idp?.stop(), probe?.stop(), everything?.stop()]);
  });

  describe('V-02: the email claim never opens an existing account', () => {
    it.each([
      ['a LibreChat-style HS256 token', () => librechat({ id: 'lc-mallory', email: 'ROOT@Example.com' })],
      [
        'an external issuer’s token (JWKS), even with email_verified',
        () => idp.sign({ sub: 'idp-mallory', email: 'Root@example.com', email_verified: true }),
      ],
    ])('V-02: %s whose email is the admin’s signs in to an account of its own, as USER', async (_n, make) => {
      const res = await me(await make());
      expect(res.statusCode).toBe(200);
      const who = res.json<Me>();
      expect(who.id).not.toBe(adminId);
      expect(who.role).toBe('USER');
      // The admin's address stays the admin's: the newcomer gets a placeholder, not a duplicate.
      expect(who.email).not.toBe('root@example.com');
      const users = await adminApi('GET', '/api/admin/users', await make());
      expect(users.statusCode).toBe(403);
      expect((await hub.repos.users.findById(adminId))?.role).toBe('ADMIN');
    });

    describe('with AUTH_EMAIL_LINK_ISSUERS naming both issuers', () => {
      let linking: TestHub;
      let aliceId: string;

      beforeAll(async () => {
        linking = await startTestHub({
          env: {
            JWT_SECRET,
            AUTH_JWKS_URL: idp.jwksUrl,
            AUTH_ISSUER: IDP_ISSUER,
            AUTH_EMAIL_LINK_ISSUERS: `jwt-secret, ${IDP_ISSUER}`,
          },
        });
        aliceId = (await linking.repos.users.create({ email: 'alice@example.com' })).id;
      });
      afterAll(async () => linking?.dispose());

      it('V-02: an unverified email from either issuer still gets an account of its own', async () => {
        for (const token of [
          await idp.sign({ sub: 'idp-unverified', email: 'alice@example.com' }),
          await idp.sign({ sub: 'idp-false', email: 'alice@example.com', email_verified: false }),
          await librechat({ id: 'lc-unverified', email: 'alice@example.com' }),
        ]) {
          const who = (await me(token, linking)).json<Me>();
          expect(who.id).not.toBe(aliceId);
        }
      });

      it.each([
        [
          'the external issuer (JWKS)',
          () => idp.sign({ sub: 'idp-alice', email: 'ALICE@example.com', email_verified: true }),
        ],
        [
          'the shared-secret issuer (HS256)',
          () => librechat({ id: 'lc-alice', email: 'alice@example.com', email_verified: true }),
        ],
      ])('V-02: a verified email from %s links to the local account with that email', async (_n, make) => {
        const token = await make();
        expect((await me(token, linking)).json<Me>()).toMatchObject({
          id: aliceId,
          email: 'alice@example.com',
        });
        expect((await me(token, linking)).json<Me>().id).toBe(aliceId);
      });

      it('V-02: an account another external identity made is never a link target (its email was only claimed)', async () => {
        const squatter = await idp.sign({ sub: 'idp-squatter', email: 'victim@example.com' });
        const squatterId = (await me(squatter, linking)).json<Me>().id;
        expect((await linking.repos.users.findById(squatterId))?.email).toBe('victim@example.com');
        const victim = await librechat({
          id: 'lc-victim',
          email: 'victim@example.com',
          email_verified: true,
        });
        const victimId = (await me(victim, linking)).json<Me>().id;
        expect(victimId).not.toBe(squatterId);
      });
    });
  });

  describe('V-06: external subjects live in their issuer’s namespace', () => {
    it.each([
      ['an HS256 token with id "system"', () => librechat({ id: 'system', email: 'sys@example.com' })],
      ['an IdP token with sub "system"', () => idp.sign({ sub: 'system', email: 'sys2@example.com' })],
    ])(
      'V-06: %s is an ordinary user with an id of its own, never the shared-authorization owner',
      async (_n, make) => {
        const who = (await me(await make())).json<Me>();
        expect(who.id).not.toBe('system');
        expect(who.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(who.role).toBe('USER');
      },
    );

    it.each([
      ['an HS256 token', () => librechat({ id: adminId })],
      ['an IdP token', () => idp.sign({ sub: adminId })],
    ])(
      'V-06: %s whose subject is the admin’s id is refused, and the admin is untouched',
      async (_n, make) => {
        const res = await me(await make());
        expect(res.statusCode).toBe(401);
        expect(res.json()).toMatchObject({ code: 'HUB_ERR_INVALID_TOKEN' });
        expect(await hub.repos.users.identitiesOf([adminId])).toEqual(new Map());
      },
    );

    it('V-06: {{LIBRECHAT_USER_ID}} and access.users name LibreChat’s own id, only for tokens of the app that shares JWT_SECRET', async () => {
      const call = (token: string) =>
        hub.app.inject({
          method: 'POST',
          url: '/api/mcp/lcid/tools/whoami/call',
          headers: { ...auth(token), 'content-type': 'application/json' },
          payload: { arguments: {} },
        });
      const fromApp = await call(await librechat({ id: 'lc-app-77', email: 'lc77@example.com' }));
      expect(fromApp.statusCode).toBe(200);
      const seen = JSON.parse(fromApp.json<{ content: Array<{ text: string }> }>().content[0]!.text) as {
        'x-api-key': string;
      };
      // The upstream hears the id the chat app knows the user by, not the hub's internal one.
      expect(seen['x-api-key']).toBe('lc-app-77');
      // The same subject from another issuer is another person: not on the list, not that id.
      const fromIdp = await call(await idp.sign({ sub: 'lc-app-77', email: 'idp77@example.com' }));
      expect(fromIdp.statusCode).toBe(404);
    });

    it('V-06: a non-admin’s disconnect of an app-level server leaves the shared connection open', async () => {
      await hub.startup.firstPass;
      const bob = await hub.userToken('bob@example.com');
      const call = await hub.app.inject({
        method: 'POST',
        url: '/api/mcp/plain/tools/whoami/call',
        headers: auth(bob),
        payload: { arguments: {} },
      });
      expect(call.statusCode).toBe(200);
      expect(hub.pool.state('app|plain')).toBe('connected');
      const system = await librechat({ id: 'system' });
      for (const token of [bob, system]) {
        const res = await hub.app.inject({
          method: 'POST',
          url: '/api/mcp/plain/disconnect?revoke=true',
          headers: auth(token),
        });
        expect(res.statusCode).toBe(200);
        expect(hub.pool.state('app|plain')).toBe('connected');
      }
    });
  });

  describe('V-04: administrators change role and account state, effective on the next request', () => {
    it('V-04: only admins reach /api/admin/users; input is validated; unknown users are 404', async () => {
      const carol = await hub.userToken('carol@example.com');
      const carolId = await idOf('carol@example.com');
      for (const [method, url, body] of [
        ['GET', '/api/admin/users', undefined],
        ['GET', `/api/admin/users/${adminId}`, undefined],
        ['PATCH', `/api/admin/users/${carolId}`, { role: 'ADMIN' }],
        ['DELETE', `/api/admin/users/${adminId}`, undefined],
      ] as const) {
        const res = await adminApi(method, url, carol, body);
        expect(res.statusCode, `${method} ${url}`).toBe(403);
      }
      expect((await me(carol)).json<Me>().role).toBe('USER');
      for (const body of [{}, { role: 'ROOT' }, { disabled: 'yes' }, { role: 'ADMIN', extra: 1 }]) {
        expect((await adminApi('PATCH', `/api/admin/users/${carolId}`, admin, body)).statusCode).toBe(400);
      }
      const unknown = await adminApi('PATCH', '/api/admin/users/no-such-user', admin, { role: 'ADMIN' });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toMatchObject({ code: 'HUB_ERR_USER_NOT_FOUND' });
      expect((await adminApi('DELETE', '/api/admin/users/no-such-user', admin)).statusCode).toBe(404);
      const self = await adminApi('PATCH', `/api/admin/users/${adminId}`, admin, { role: 'USER' });
      expect(self.statusCode).toBe(409);
      const listed = await adminApi('GET', '/api/admin/users?email=CAROL@example.com', admin);
      expect(listed.json()).toMatchObject({
        users: [{ id: carolId, email: 'carol@example.com', role: 'USER', disabled: false, origin: 'local' }],
        nextCursor: null,
      });
      expect(listed.body).not.toContain('passwordHash');
    });

    it('V-04: a promotion and a demotion apply to the user’s very next request, token unchanged', async () => {
      const dave = await hub.userToken('dave@example.com');
      const daveId = await idOf('dave@example.com');
      expect((await adminApi('GET', '/api/admin/users', dave)).statusCode).toBe(403);
      const promoted = await adminApi('PATCH', `/api/admin/users/${daveId}`, admin, { role: 'ADMIN' });
      expect(promoted.json()).toMatchObject({ id: daveId, role: 'ADMIN' });
      expect((await adminApi('GET', '/api/admin/users', dave)).statusCode).toBe(200);
      await adminApi('PATCH', `/api/admin/users/${daveId}`, admin, { role: 'USER' });
      expect((await me(dave)).json<Me>().role).toBe('USER');
      expect((await adminApi('GET', '/api/admin/users', dave)).statusCode).toBe(403);
    });

    it('V-04: a disabled user is refused on the next request with any token; enabling does not revive old hub tokens', async () => {
      const erin = await hub.userToken('erin@example.com');
      const erinId = await idOf('erin@example.com');
      const external = await librechat({ id: 'lc-frank', email: 'frank@example.com' });
      const frankId = (await me(external)).json<Me>().id;
      for (const id of [erinId, frankId]) {
        const res = await adminApi('PATCH', `/api/admin/users/${id}`, admin, { disabled: true });
        expect(res.json()).toMatchObject({ id, disabled: true });
      }
      for (const token of [erin, external]) {
        const res = await me(token);
        expect(res.statusCode).toBe(403);
        expect(res.json()).toMatchObject({ code: 'HUB_ERR_ACCOUNT_DISABLED' });
      }
      for (const id of [erinId, frankId])
        await adminApi('PATCH', `/api/admin/users/${id}`, admin, { disabled: false });
      expect((await me(erin)).statusCode).toBe(401);
      expect((await me(external)).statusCode).toBe(200);
      expect((await me(await hub.userToken('erin@example.com'))).statusCode).toBe(200);
    });

    it('V-04: a role change made by the CLI in another process applies to the next request', async () => {
      const grace = await hub.userToken('grace@example.com');
      expect((await me(grace)).json<Me>().role).toBe('USER');
      await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', path.resolve('src/main.ts'), 'users', 'set-role', 'grace@example.com', 'ADMIN'],
        {
          env: {
            PATH: process.env.PATH,
            DATA_DIR: hub.dataDir,
            SWITCHBOARD_CONFIG: path.join(hub.dataDir, 'switchboard.yaml'),
            JWT_SECRET,
            AUTH_JWKS_URL: idp.jwksUrl,
            AUTH_ISSUER: IDP_ISSUER,
            LOG_LEVEL: 'silent',
          },
        },
      );
      expect((await me(grace)).json<Me>().role).toBe('ADMIN');
      expect((await adminApi('GET', '/api/admin/users', grace)).statusCode).toBe(200);
    }, 30_000);
  });

  describe('V-11: a removed user is gone', () => {
    it('V-11: removal deletes credentials, grants and connections; the old bearer token is 401 and never recreates the account', async () => {
      const alice = await hub.userToken('alice@example.com');
      const henry = await hub.userToken('henry@example.com');
      const henryId = await idOf('henry@example.com');
      const usersBefore = (await hub.repos.users.list()).length;

      // Alice shares a server with Henry; Henry sets his key on a YAML server and uses both.
      const created = await hub.app.inject({
        method: 'POST',
        url: '/api/mcp/servers',
        headers: auth(alice),
        payload: { config: { type: 'streamable-http', url: everything.url, title: 'Shared' } },
      });
      expect(created.statusCode, created.body).toBe(201);
      const shared = created.json<{ serverName: string }>().serverName;
      const grant = await hub.app.inject({
        method: 'PUT',
        url: `/api/mcp/servers/${shared}/permissions`,
        headers: auth(alice),
        payload: { principals: [{ type: 'user', email: 'henry@example.com', role: 'viewer' }] },
      });
      expect(grant.statusCode, grant.body).toBe(200);
      const put = await hub.app.inject({
        method: 'PUT',
        url: '/api/mcp/keyed/auth-values',
        headers: auth(henry),
        payload: { values: { API_KEY: 'henry-key-0001' } },
      });
      expect(put.statusCode).toBe(200);
      for (const [server, tool, args] of [
        ['keyed', 'whoami', {}],
        [shared, 'echo', { message: 'hi' }],
      ] as const) {
        const res = await hub.app.inject({
          method: 'POST',
          url: `/api/mcp/${server}/tools/${tool}/call`,
          headers: auth(henry),
          payload: { arguments: args },
        });
        expect(res.statusCode, res.body).toBe(200);
      }
      const henrysKeys = () => hub.pool.keys().filter((k) => k.includes(`|${henryId}|`));
      expect(henrysKeys().length).toBeGreaterThanOrEqual(2);

      // Alice owns a server: she cannot be removed until it is gone.
      const refused = await adminApi('DELETE', `/api/admin/users/${await idOf('alice@example.com')}`, admin);
      expect(refused.statusCode).toBe(409);

      const removed = await adminApi('DELETE', `/api/admin/users/${henryId}`, admin);
      expect(removed.statusCode).toBe(200);
      expect(removed.json()).toMatchObject({
        id: henryId,
        email: 'henry@example.com',
        credentials: 1,
        grants: 1,
      });
      await until(() => henrysKeys().length === 0);

      const after = await me(henry);
      expect(after.statusCode).toBe(401);
      expect(after.json()).toMatchObject({ code: 'HUB_ERR_INVALID_TOKEN' });
      expect(await hub.repos.users.findById(henryId)).toBeNull();
      expect(await hub.repos.users.findByEmail('henry@example.com')).toBeNull();
      expect((await hub.repos.users.list()).length).toBe(usersBefore - 1);
      expect(await hub.repos.credentials.listForUser(henryId)).toEqual([]);
      const sharing = await hub.app.inject({
        method: 'GET',
        url: `/api/mcp/servers/${shared}/permissions`,
        headers: auth(alice),
      });
      expect(sharing.body).not.toContain('henry@example.com');
      expect(sharing.body).not.toContain(henryId);
    });
  });

  describe('V-12: a password change ends earlier tokens', () => {
    it('V-12: after POST /api/auth/password the old login token is 401 and the new one works', async () => {
      const ivy = await hub.repos.users.create({
        email: 'ivy@example.com',
        passwordHash: await hashPassword('ivy-old-password'),
      });
      const login = await hub.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email: 'ivy@example.com', password: 'ivy-old-password' },
      });
      const stolen = login.json<{ token: string }>().token;
      expect((await me(stolen)).statusCode).toBe(200);

      const wrong = await hub.app.inject({
        method: 'POST',
        url: '/api/auth/password',
        headers: auth(stolen),
        payload: { currentPassword: 'guess-guess', newPassword: 'ivy-new-password' },
      });
      expect(wrong.statusCode).toBe(401);
      expect((await me(stolen)).statusCode).toBe(200);

      const changed = await hub.app.inject({
        method: 'POST',
        url: '/api/auth/password',
        headers: auth(stolen),
        payload: { currentPassword: 'ivy-old-password', newPassword: 'ivy-new-password' },
      });
      expect(changed.statusCode).toBe(200);
      const fresh = changed.json<{ token: string }>().token;
      expect(changed.body).not.toContain('ivy-new-password');
      const old = await me(stolen);
      expect(old.statusCode).toBe(401);
      expect(old.json()).toMatchObject({ code: 'HUB_ERR_INVALID_TOKEN' });
      expect((await me(fresh)).json<Me>().id).toBe(ivy.id);
      const oldLogin = await hub.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email: 'ivy@example.com', password: 'ivy-old-password' },
      });
      expect(oldLogin.statusCode).toBe(401);
    });

    it('V-12: a password set by an administrator (CLI) ends the user’s earlier tokens too', async () => {
      const token = await hub.userToken('jack@example.com');
      const jackId = await idOf('jack@example.com');
      await hub.accounts.setPassword(null, jackId, 'jack-new-password');
      expect((await me(token)).statusCode).toBe(401);
      const login = await hub.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email: 'jack@example.com', password: 'jack-new-password' },
      });
      expect((await me(login.json<{ token: string }>().token)).statusCode).toBe(200);
    });
  });
});

/** The shared (`sharedOAuth`) authorization an admin made for everyone, against a real authorization server. */
describe('V-06: nobody but an admin touches a shared authorization', () => {
  const PUBLIC_URL = 'http://127.0.0.1:39998';
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let hub: TestHub;

  const callTeam = (token: string) =>
    hub.app.inject({
      method: 'POST',
      url: '/api/mcp/team/tools/whoami/call',
      headers: auth(token),
      payload: { arguments: {} },
    });

  beforeAll(async () => {
    as = await startAuthorizationServer();
    mcp = await startProtectedMcpServer(as);
    hub = await startTestHub({
      env: { PUBLIC_URL, JWT_SECRET },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  team:
    type: streamable-http
    url: ${mcp.url}
    requiresOAuth: true
    sharedOAuth: true
`,
    });
    const admin = await hub.userToken('root@example.com', 'ADMIN');
    const reinit = await hub.app.inject({
      method: 'POST',
      url: '/api/mcp/team/reinitialize',
      headers: auth(admin),
    });
    const { callbackUrl } = await authorizeInBrowser(reinit.json<{ oauthUrl: string }>().oauthUrl, {
      loginHint: 'alice',
      redirectUriPrefix: `${PUBLIC_URL}/api/mcp/team/oauth/callback`,
    });
    const url = new URL(callbackUrl);
    const cookie = reinit.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const done = await hub.app.inject({
      method: 'GET',
      url: `${url.pathname}${url.search}`,
      headers: { cookie },
    });
    expect(done.headers.location).toContain('/oauth/success');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await mcp?.stop();
    await as?.stop();
  });

  it.each([
    ['a LibreChat-style token with id "system"', () => librechat({ id: 'system' })],
    ['an ordinary user', () => hub.userToken('bob@example.com')],
  ])(
    'V-06: %s cannot revoke or cancel it: the shared tokens stay, and everyone’s calls go on',
    async (_n, make) => {
      const token = await make();
      const before = as.counts.revocations;
      const bob = await hub.userToken('bob@example.com');
      expect((await callTeam(bob)).statusCode).toBe(200);
      const revoke = await hub.app.inject({
        method: 'POST',
        url: '/api/mcp/team/disconnect?revoke=true',
        headers: auth(token),
      });
      expect(revoke.statusCode).toBe(200);
      expect(revoke.json<{ message: string }>().message).not.toContain('revoked');
      const status = await hub.app.inject({
        method: 'GET',
        url: '/api/mcp/oauth/status/system%3Ateam',
        headers: auth(token),
      });
      expect(status.statusCode).toBe(403);
      expect(as.counts.revocations).toBe(before);
      const after = await callTeam(bob);
      expect(after.statusCode).toBe(200);
      expect(after.json<{ content: Array<{ text: string }> }>().content[0]!.text).toBe('alice');
    },
  );
});

const postgresUrl = inject('postgresUrl');
const redisUrl = inject('redisUrl');

/** Several instances on PostgreSQL and Redis: a change made through one applies on the other. */
describe.skipIf(!postgresUrl || !redisUrl)(
  'V-04: account changes across instances (PostgreSQL + Redis)',
  () => {
    const schema = `identity_${process.pid}_${Date.now()}`;
    let pgAdmin: pg.Client;
    let first: TestHub;
    let second: TestHub;

    beforeAll(async () => {
      pgAdmin = new pg.Client({ connectionString: postgresUrl });
      await pgAdmin.connect();
      await pgAdmin.query(`CREATE SCHEMA ${schema}`);
      const url = new URL(postgresUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const env = {
        DATABASE_URL: url.toString(),
        REDIS_URL: redisUrl,
        JWT_SECRET,
        CREDENTIALS_KEY: 'ab'.repeat(32),
      };
      first = await startTestHub({ env });
      second = await startTestHub({ env });
    });

    afterAll(async () => {
      await first?.dispose();
      await second?.dispose();
      await pgAdmin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pgAdmin?.end();
    });

    it('V-04: a demotion and a disable through one instance reach a user whose account the other had cached', async () => {
      const root = await first.userToken('root@example.com', 'ADMIN');
      const kate = await first.userToken('kate@example.com', 'ADMIN');
      const kateId = (await first.repos.users.findByEmail('kate@example.com'))!.id;
      const roleOn = async (hub: TestHub): Promise<number> =>
        (await hub.app.inject({ method: 'GET', url: '/api/admin/users', headers: auth(kate) })).statusCode;
      expect(await roleOn(second)).toBe(200);

      const patch = (body: unknown) =>
        first.app.inject({
          method: 'PATCH',
          url: `/api/admin/users/${kateId}`,
          headers: auth(root),
          payload: body as Record<string, unknown>,
        });
      expect((await patch({ role: 'USER' })).statusCode).toBe(200);
      expect(await roleOn(first)).toBe(403);
      // The other instance hears of it over Redis, long before its cache would have expired.
      expect(
        await eventually(
          () => roleOn(second),
          (status) => status === 403,
        ),
      ).toBe(403);

      expect((await patch({ disabled: true })).statusCode).toBe(200);
      const me = async () =>
        (await second.app.inject({ method: 'GET', url: '/api/auth/me', headers: auth(kate) })).statusCode;
      expect(await eventually(me, (status) => status === 403)).toBe(403);
    });
  },
);
