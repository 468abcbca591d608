import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcIdp, type TestIdp } from './peers/oidc-idp.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { SsoBrowser } from './peers/sso-browser.js';
import { freePort } from './support/mcp-helpers.js';
import { startTestHub, type TestHub } from './support/hub.js';

const KC_SECRET = `kc-secret-${'s'.repeat(24)}`;

/** Single sign-on against two real identity providers (oidc-provider), through a fetch-driven browser. */
describe('single sign-on with OpenID Connect', () => {
  let kc: TestIdp;
  let corp: TestIdp;
  let probe: ProbeServer;
  let hub: TestHub;
  let base: string;
  /** Added to the hub's clock (the KV's expiry included); the IdP keeps real time. */
  let offset = 0;

  const callbackOf = (id: string) => `${base}/auth/sso/${id}/callback`;
  const browser = (user: string) => new SsoBrowser(user, [kc.issuer, corp.issuer]);
  const start = (id: string, returnTo = '/api/auth/session') =>
    `${base}/auth/sso/${id}/start?returnTo=${encodeURIComponent(returnTo)}`;
  const usersCount = async () => (await hub.repos.users.list()).length;
  /** Codes and states seen in callback URLs, for the log grep. */
  const seen: string[] = [];
  /** Opens the start URL and stops before the hub's callback, whose URL is returned. */
  async function untilCallback(b: SsoBrowser, id = 'kc'): Promise<URL> {
    const stopped = await b.open(start(id), (next) => next.href.startsWith(callbackOf(id)));
    expect(stopped.status).toBe(0);
    for (const key of ['code', 'state']) seen.push(stopped.url.searchParams.get(key) ?? '');
    return stopped.url;
  }

  /** Signs `user` in at provider `id` in a fresh (or given) browser and returns the session answer. */
  async function signIn(id: string, user: string, b = browser(user)) {
    const end = await b.open(start(id));
    expect(end.status, end.body).toBe(200);
    expect(end.url.pathname).toBe('/api/auth/session');
    const session = JSON.parse(end.body) as {
      user: { id: string; email: string; role: string };
      method: string;
      provider: string | null;
    };
    return { ...session, browser: b };
  }

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    [kc, corp, probe] = await Promise.all([
      startOidcIdp({
        clients: [
          { clientId: 'switchboard', clientSecret: KC_SECRET, redirectUri: `${base}/auth/sso/kc/callback` },
        ],
      }),
      // A public client whose provider puts only `sub` in the ID token: the rest comes from userinfo.
      startOidcIdp({
        clients: [{ clientId: 'hub-public', redirectUri: `${base}/auth/sso/corp/callback` }],
        claimsInIdToken: false,
      }),
      startProbeServer(),
    ]);
    const yaml = `
mcpSettings:
  allowedDomains: ['127.0.0.1:${new URL(probe.url).port}']
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: false } }
auth:
  sso:
    - id: kc
      name: Acme Keycloak
      issuer: ${kc.issuer}
      clientId: switchboard
      clientSecret: \${KC_SECRET}
      groupsClaim: groups
      adminGroups: [hub-admins]
      syncGroups: true
    - id: corp
      name: Corp Login
      issuer: ${corp.issuer}
      clientId: hub-public
      groupsClaim: groups
      trustEmail: true
`;
    hub = await startTestHub({
      yaml,
      env: { PUBLIC_URL: base, KC_SECRET },
      clock: { now: () => Date.now() + offset },
    });
    await hub.app.listen({ port, host: '127.0.0.1' });
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await Promise.all([kc?.stop(), corp?.stop(), probe?.stop()]);
  });

  it('lists the providers for the sign-in page, with no secret in the answer', async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/api/auth/providers' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      providers: [
        { id: 'kc', name: 'Acme Keycloak', startUrl: '/auth/sso/kc/start' },
        { id: 'corp', name: 'Corp Login', startUrl: '/auth/sso/corp/start' },
      ],
    });
    expect(res.body).not.toContain(KC_SECRET);
  });

  it('the sign-in page shows one button per provider, carrying returnTo', async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/auth/signin?returnTo=%2Fapi%2Fmcp%2Ftools' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Acme Keycloak');
    expect(res.body).toContain('Corp Login');
    expect(res.body).toContain('/auth/sso/kc/start?returnTo=%2Fapi%2Fmcp%2Ftools');
  });

  it('first sign-in provisions an account keyed by (issuer, subject) and signs the browser in', async () => {
    kc.accounts.set('alice', { email: 'alice@acme.example', email_verified: true, groups: [] });
    const before = kc.counts.codeGrants;
    const session = await signIn('kc', 'alice');
    expect(session).toMatchObject({
      user: { email: 'alice@acme.example', role: 'USER' },
      method: 'sso',
      provider: 'kc',
    });
    expect(kc.counts.codeGrants).toBe(before + 1);
    const account = await hub.accounts.get(null, session.user.id);
    expect(account).toMatchObject({ origin: 'external', hasPassword: false });
    expect(account.identities).toEqual([{ issuer: kc.issuer, subject: 'alice' }]);
    // The id is the hub's own, never the subject.
    expect(session.user.id).not.toBe('alice');

    // Signing in again reuses the account.
    expect((await signIn('kc', 'alice')).user.id).toBe(session.user.id);
  });

  it('the same subject at another provider is another account; both providers work side by side', async () => {
    kc.accounts.set('sam', { email: 'sam@acme.example', email_verified: true });
    corp.accounts.set('sam', { email: 'sam@corp.example', email_verified: true });
    const atKc = await signIn('kc', 'sam');
    const atCorp = await signIn('corp', 'sam');
    expect(atCorp.provider).toBe('corp');
    expect(atCorp.user.id).not.toBe(atKc.user.id);
    // Userinfo supplied the email the corp ID token left out.
    expect(atCorp.user.email).toBe('sam@corp.example');
    expect(corp.counts.userinfo).toBeGreaterThan(0);
  });

  it('an email equal to a local account is not merged unless the provider is trusted for it and says verified', async () => {
    const local = await hub.repos.users.create({ email: 'carol@example.com' });
    kc.accounts.set('carol', { email: 'carol@example.com', email_verified: true });
    const untrusted = await signIn('kc', 'carol');
    expect(untrusted.user.id).not.toBe(local.id);

    corp.accounts.set('carol-unverified', { email: 'carol@example.com', email_verified: false });
    expect((await signIn('corp', 'carol-unverified')).user.id).not.toBe(local.id);

    corp.accounts.set('carol', { email: 'carol@example.com', email_verified: true });
    const linked = await signIn('corp', 'carol');
    expect(linked.user.id).toBe(local.id);
    expect((await hub.accounts.get(null, local.id)).identities).toEqual([
      { issuer: corp.issuer, subject: 'carol' },
    ]);
  });

  it('an admin group makes an ADMIN; leaving it makes a USER at the next sign-in', async () => {
    kc.accounts.set('root', { email: 'root@acme.example', email_verified: true, groups: ['hub-admins'] });
    const first = await signIn('kc', 'root');
    expect(first.user.role).toBe('ADMIN');
    kc.accounts.set('root', { email: 'root@acme.example', email_verified: true, groups: ['eng'] });
    const second = await signIn('kc', 'root');
    expect(second.user.role).toBe('USER');
    const audit = await hub.repos.audit.list({ limit: 1000 });
    const mine = audit.events.filter((e) => e.targetId === first.user.id);
    expect(mine.map((e) => [e.action, e.details])).toEqual(
      expect.arrayContaining([
        ['user.set_role', { role: 'ADMIN', via: 'sso', provider: 'kc' }],
        ['user.set_role', { role: 'USER', via: 'sso', provider: 'kc' }],
      ]),
    );
  });

  it('group sync adds and removes memberships; a server shared with group eng is seen by its IdP members', async () => {
    kc.accounts.set('erin', { email: 'erin@acme.example', email_verified: true, groups: ['eng', 'ops'] });
    const erin = await signIn('kc', 'erin');
    const groupNames = async () => {
      const ids = await hub.repos.groups.listGroupIdsForUser(erin.user.id);
      return (await Promise.all(ids.map((id) => hub.repos.groups.findById(id)))).map((g) => g!.name).sort();
    };
    expect(await groupNames()).toEqual(['eng', 'ops']);
    expect((await hub.repos.groups.findByName('eng'))?.source).toBe('oidc:kc');

    // Someone shares a server with the IdP's group eng, by name.
    const owner = await hub.userToken('owner@example.com');
    const auth = { authorization: `Bearer ${owner}` };
    const created = await hub.app.inject({
      method: 'POST',
      url: '/api/mcp/servers',
      headers: auth,
      payload: { config: { type: 'streamable-http', url: probe.url, title: 'Eng Tools' } },
    });
    expect(created.statusCode, created.body).toBe(201);
    const name = created.json<{ serverName: string }>().serverName;
    const shared = await hub.app.inject({
      method: 'PUT',
      url: `/api/mcp/servers/${name}/permissions`,
      headers: auth,
      payload: { principals: [{ type: 'group', name: 'eng', role: 'viewer' }] },
    });
    expect(shared.statusCode, shared.body).toBe(200);

    // Erin's browser session sees it.
    const listed = await erin.browser.open(`${base}/api/mcp/servers`);
    expect(Object.keys(JSON.parse(listed.body) as object)).toContain(name);

    // Erin leaves eng at the IdP: at the next sign-in the membership, and the server, are gone.
    kc.accounts.set('erin', { email: 'erin@acme.example', email_verified: true, groups: ['ops', 'sales'] });
    const again = await signIn('kc', 'erin', erin.browser);
    expect(await groupNames()).toEqual(['ops', 'sales']);
    const after = await again.browser.open(`${base}/api/mcp/servers`);
    expect(Object.keys(JSON.parse(after.body) as object)).not.toContain(name);
  });

  it('a group of the hub itself is never joined or left through a claim', async () => {
    const own = await hub.repos.groups.create('finance');
    kc.accounts.set('fred', { email: 'fred@acme.example', email_verified: true, groups: ['finance'] });
    const fred = await signIn('kc', 'fred');
    expect(await hub.repos.groups.listGroupIdsForUser(fred.user.id)).not.toContain(own.id);
    expect(hub.logLines.some((line) => line.includes('memberships not synced'))).toBe(true);
  });

  it('OA-03, OA-04: a callback delivered to another browser is refused: no account, no session (login CSRF)', async () => {
    kc.accounts.set('mallory', { email: 'mallory@acme.example', email_verified: true });
    const attacker = browser('mallory');
    const callback = await untilCallback(attacker);
    const users = await usersCount();

    const victim = browser('nobody');
    const landed = await victim.open(callback);
    expect(landed.status).toBe(403);
    expect(landed.body).toContain('started in another browser');
    expect(landed.body).not.toContain(callback.searchParams.get('code')!);
    expect(await usersCount()).toBe(users);
    const session = await victim.open(`${base}/api/auth/session`);
    expect(session.status).toBe(401);

    // The refused attempt was consumed: the attacker's own browser cannot use it either.
    expect((await attacker.open(callback)).status).toBe(400);
    expect(await usersCount()).toBe(users);
  });

  it('OA-05: a replayed callback is refused and the code goes to the provider once', async () => {
    kc.accounts.set('rita', { email: 'rita@acme.example', email_verified: true });
    const b = browser('rita');
    const callback = await untilCallback(b);
    const first = await b.open(callback);
    expect(first.status).toBe(200);
    const grants = kc.counts.codeGrants;
    const replay = await b.open(callback);
    expect(replay.status).toBe(400);
    expect(replay.body).toContain('unknown, expired or was already used');
    // Refused before the code reached the provider again.
    expect(kc.counts.codeGrants).toBe(grants);
  });

  it('OA-01, OA-02: a wrong or missing state is refused', async () => {
    kc.accounts.set('walt', { email: 'walt@acme.example', email_verified: true });
    const b = browser('walt');
    const callback = await untilCallback(b);
    const forged = new URL(callback);
    forged.searchParams.set('state', 'x'.repeat(43));
    const users = await usersCount();
    expect((await b.open(forged)).status).toBe(400);
    const noState = new URL(callback);
    noState.searchParams.delete('state');
    expect((await b.open(noState)).status).toBe(400);
    expect(await usersCount()).toBe(users);
  });

  it('OA-15: a callback at another provider’s path is refused', async () => {
    kc.accounts.set('pat', { email: 'pat@acme.example', email_verified: true });
    const b = browser('pat');
    const callback = await untilCallback(b);
    const moved = new URL(callbackOf('corp'));
    moved.search = callback.search;
    expect((await b.open(moved)).status).toBe(400);
  });

  it('OA-10: a callback naming another issuer is refused before the code is redeemed (RFC 9207)', async () => {
    kc.accounts.set('ivan', { email: 'ivan@acme.example', email_verified: true });
    const b = browser('ivan');
    const callback = await untilCallback(b);
    expect(callback.searchParams.get('iss')).toBe(kc.issuer);
    const grants = kc.counts.codeGrants + kc.counts.failedGrants;
    const mixedUp = new URL(callback);
    mixedUp.searchParams.set('iss', 'https://evil.example');
    const refused = await b.open(mixedUp);
    expect(refused.status).toBe(502);
    expect(refused.body).toContain('The identity provider did not complete the sign-in.');
    expect(refused.body).not.toContain('evil.example');
    expect(kc.counts.codeGrants + kc.counts.failedGrants).toBe(grants);
    // The attempt was consumed with it.
    expect((await b.open(callback)).status).toBe(400);
  });

  it('OA-09: a provider that sends iss must send it: a callback without it is refused before the token request', async () => {
    kc.accounts.set('ines', { email: 'ines@acme.example', email_verified: true });
    const b = browser('ines');
    const callback = await untilCallback(b);
    const grants = kc.counts.codeGrants + kc.counts.failedGrants;
    const stripped = new URL(callback);
    stripped.searchParams.delete('iss');
    expect((await b.open(stripped)).status).toBe(502);
    // openid-client refused the response itself (iss missing), not the token endpoint.
    expect(hub.logLines.filter((l) => l.includes('sso callback refused')).at(-1)).toContain(
      '"cause_code":"OAUTH_INVALID_RESPONSE"',
    );
    expect(kc.counts.codeGrants + kc.counts.failedGrants).toBe(grants);
    expect((await b.open(`${base}/api/auth/session`)).status).toBe(401);
  });

  it('OA-07: a sign-in left pending longer than ten minutes is refused', async () => {
    kc.accounts.set('eve', { email: 'eve@acme.example', email_verified: true });
    const b = browser('eve');
    const callback = await untilCallback(b);
    const grants = kc.counts.codeGrants;
    offset += 10 * 60_000 + 1;
    try {
      const late = await b.open(callback);
      expect(late.status).toBe(400);
      expect(late.body).toContain('unknown, expired or was already used');
    } finally {
      offset = 0;
    }
    expect(kc.counts.codeGrants).toBe(grants);
  });

  it('refused pages are not cached and send no referrer', async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/auth/sso/kc/callback?state=nope&code=nope' });
    expect(res.statusCode).toBe(400);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.body).not.toContain('nope');
  });

  it('OA-22: returnTo pointing at another site lands on the hub', async () => {
    kc.accounts.set('olga', { email: 'olga@acme.example', email_verified: true });
    for (const returnTo of ['https://evil.example/', '//evil.example/x', '/\\evil.example']) {
      const b = browser('olga');
      const end = await b.open(start('kc', returnTo));
      expect(end.url.origin).toBe(base);
      expect(end.url.pathname).toBe('/auth/signin');
      expect(end.visited.every((hop) => !hop.includes('evil.example'))).toBe(true);
    }
  });

  it('a disabled account is refused and gets no session', async () => {
    kc.accounts.set('dora', { email: 'dora@acme.example', email_verified: true });
    const dora = await signIn('kc', 'dora');
    await hub.accounts.update(null, dora.user.id, { disabled: true });
    // Even a claim that would make an admin changes nothing about a disabled account.
    kc.accounts.set('dora', {
      email: 'dora@acme.example',
      email_verified: true,
      groups: ['hub-admins', 'eng'],
    });
    const b = browser('dora');
    const end = await b.open(start('kc'));
    expect(end.status).toBe(403);
    expect(end.body).toContain('This account is disabled');
    expect((await b.open(`${base}/api/auth/session`)).status).toBe(401);
    const after = await hub.repos.users.findById(dora.user.id);
    expect(after?.role).toBe('USER');
    expect(await hub.repos.groups.listGroupIdsForUser(dora.user.id)).toEqual([]);
  });

  it('a subject that names an existing hub account is refused, never signed in as that account', async () => {
    const victim = await hub.repos.users.create({ email: 'victim@example.com', role: 'ADMIN' });
    kc.accounts.set(victim.id, { email: 'someone@acme.example', email_verified: true });
    const users = await usersCount();
    const b = browser(victim.id);
    const end = await b.open(start('kc'));
    expect(end.status).toBe(403);
    expect(end.body).toContain('This identity cannot sign in to Switchboard.');
    expect((await b.open(`${base}/api/auth/session`)).status).toBe(401);
    expect(await usersCount()).toBe(users);
  });

  it('the provider refusing the sign-in ends on a fixed page', async () => {
    const b = browser('no-such-user');
    const end = await b.open(start('kc'));
    expect(end.status).toBe(403);
    expect(end.body).toContain('The identity provider refused the sign-in.');
    expect(end.body).not.toContain('no such account');
  });

  it('an unknown provider is a 404 page', async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/auth/sso/nope/start' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('text/html');
  });

  it('OA-11: the authorization URL has PKCE S256, a 256-bit state, a nonce and the hub’s redirect URI; the binding cookie is HttpOnly, SameSite=Lax, short-lived and scoped to the SSO paths', async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/auth/sso/kc/start?returnTo=/' });
    expect(res.statusCode).toBe(303);
    const cookie = [res.headers['set-cookie']].flat().find((c) => c?.startsWith('sb_sso='));
    expect(cookie).toMatch(/; Max-Age=600/);
    expect(cookie).toMatch(/; Path=\/auth\/sso/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    const location = new URL(res.headers.location!);
    expect(location.origin).toBe(kc.issuer);
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(location.searchParams.get('redirect_uri')).toBe(callbackOf('kc'));
    expect(location.searchParams.get('nonce')).toBeTruthy();
    expect(location.searchParams.get('scope')).toBe('openid profile email');
    expect(location.searchParams.get('state')!.length).toBeGreaterThanOrEqual(43);
    expect(location.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('starts and callbacks are rate limited per client address, with a page', async () => {
    const limited = await startTestHub({
      yaml: `auth:\n  sso:\n    - {id: kc, name: K, issuer: "${kc.issuer}", clientId: switchboard}\n`,
      env: { PUBLIC_URL: 'http://127.0.0.1:39997' },
      loginAttemptsPerMinute: 2,
    });
    try {
      const starts = [];
      for (let i = 0; i < 3; i += 1) {
        starts.push(await limited.app.inject({ method: 'GET', url: '/auth/sso/kc/start' }));
      }
      expect(starts.map((r) => r.statusCode)).toEqual([303, 303, 429]);
      expect(starts[2]!.headers['content-type']).toContain('text/html');
      expect(starts[2]!.headers['retry-after']).toBeDefined();
    } finally {
      await limited.dispose();
    }
  });

  it('logs no code, token, state or client secret', () => {
    const secrets = [...kc.minted(), ...corp.minted(), ...seen.filter((s) => s !== ''), KC_SECRET];
    expect(secrets.length).toBeGreaterThan(10);
    for (const line of hub.logLines) for (const secret of secrets) expect(line).not.toContain(secret);
  });
});
