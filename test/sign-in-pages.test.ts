import cookie from '@fastify/cookie';
import Fastify, { type LightMyRequestResponse } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/auth/index.js';
import { signInRoutes } from '../src/http/index.js';
import { startTestHub, type TestHub } from './support/hub.js';

type Injected = LightMyRequestResponse;

const PUBLIC_URL = 'http://127.0.0.1:39997';
const PASSWORD = 'correct horse battery staple';
/** What a browser sends when the sign-in page's own form is submitted (no referrer, so Origin is null). */
const OWN_FORM = { 'sec-fetch-site': 'same-origin', origin: 'null' } as const;
const FORM = { 'content-type': 'application/x-www-form-urlencoded', ...OWN_FORM } as const;

const sessionCookie = (res: Injected) => {
  const set = res.cookies.find((c) => c.name === 'sb_session');
  return set ? `sb_session=${set.value}` : undefined;
};
const hiddenValue = (html: string, name: string) =>
  new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];

/** The HTML headers every page of these routes carries. */
function expectPageHeaders(res: Injected): void {
  expect(res.headers['content-type']).toContain('text/html');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  const csp = String(res.headers['content-security-policy']);
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-inline');
  expect(res.body).not.toContain('<script');
}

describe('the sign-in pages', () => {
  let hub: TestHub;
  const secrets: string[] = [PASSWORD];

  const signIn = (fields: Record<string, string>, headers: Record<string, string> = FORM) =>
    hub.app.inject({
      method: 'POST',
      url: '/auth/signin',
      headers: { ...headers, ...(fields.cookie ? { cookie: fields.cookie } : {}) },
      payload: new URLSearchParams(Object.entries(fields).filter(([key]) => key !== 'cookie')).toString(),
    });
  const open = (url: string, cookieHeader?: string) =>
    hub.app.inject({ method: 'GET', url, headers: cookieHeader ? { cookie: cookieHeader } : {} });
  const me = (cookieHeader: string) => open('/api/auth/me', cookieHeader);

  async function signedIn(email = 'alice@example.com'): Promise<string> {
    const res = await signIn({ email, password: PASSWORD });
    expect(res.statusCode).toBe(303);
    const cookieHeader = sessionCookie(res)!;
    secrets.push(cookieHeader.slice('sb_session='.length));
    return cookieHeader;
  }

  beforeAll(async () => {
    hub = await startTestHub({ env: { PUBLIC_URL } });
    const passwordHash = await hashPassword(PASSWORD);
    await hub.repos.users.create({ email: 'alice@example.com', passwordHash });
    await hub.repos.users.create({ email: 'bob@example.com', passwordHash });
  });

  afterAll(async () => {
    await hub?.dispose();
  });

  it('GET /auth/signin: the form, posting to /auth/signin with the return path in a hidden field', async () => {
    const res = await open(
      `/auth/signin?returnTo=${encodeURIComponent('/oauth/success?serverName=x&a="b"')}`,
    );
    expect(res.statusCode).toBe(200);
    expectPageHeaders(res);
    expect(res.body).toContain('<form method="post" action="/auth/signin">');
    expect(res.body).toContain('<input type="email" name="email" autocomplete="username" required>');
    expect(res.body).toContain('type="password" name="password" autocomplete="current-password"');
    expect(res.body).toContain('name="returnTo" value="/oauth/success?serverName=x&amp;a=&quot;b&quot;"');
    expect(res.body).not.toContain('/auth/sso/');
    expect(res.cookies).toEqual([]);
  });

  it('says why the browser is here when it returns to an authorization or a sign-in link, and nothing else', async () => {
    const authorize = await open(`/auth/signin?returnTo=${encodeURIComponent('/oauth2/interaction/abc')}`);
    expect(authorize.body).toContain('An application is asking to use Switchboard for you.');
    const link = await open(`/auth/signin?returnTo=${encodeURIComponent('/api/mcp/oauth/link/abc')}`);
    expect(link.body).toContain('Sign in to connect an MCP server');
    const plain = await open('/auth/signin');
    expect(plain.body).not.toContain('An application is asking');
    expect(plain.body).not.toContain('connect an MCP server');
  });

  it('a return path that is not a path of the hub becomes the sign-in page', async () => {
    for (const returnTo of ['//evil.example', 'https://evil.example', '/\\evil.example']) {
      const page = await open(`/auth/signin?returnTo=${encodeURIComponent(returnTo)}`);
      expect(hiddenValue(page.body, 'returnTo')).toBe('/auth/signin');
    }
  });

  it('open redirect refused: after sign-in, //evil.example, https://evil.example and /\\evil.example go to the sign-in page', async () => {
    for (const returnTo of [
      '//evil.example',
      'https://evil.example',
      '/\\evil.example',
      '/%0A/evil.example',
    ]) {
      const res = await signIn({ email: 'alice@example.com', password: PASSWORD, returnTo });
      expect(res.statusCode).toBe(303);
      secrets.push(sessionCookie(res)!.slice('sb_session='.length));
      const location = res.headers.location!;
      if (returnTo === '/%0A/evil.example') expect(location).toBe(`${PUBLIC_URL}/%0A/evil.example`);
      else expect(location).toBe(`${PUBLIC_URL}/auth/signin`);
      expect(new URL(location).origin).toBe(PUBLIC_URL);
    }
  });

  it('the right password: 303 to the return path with the session cookie; the page then says who is signed in', async () => {
    const res = await signIn({
      email: 'alice@example.com',
      password: PASSWORD,
      returnTo: '/oauth/success?serverName=x',
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`${PUBLIC_URL}/oauth/success?serverName=x`);
    expect(res.headers['cache-control']).toBe('no-store');
    const cookieHeader = sessionCookie(res)!;
    secrets.push(cookieHeader.slice('sb_session='.length));
    const page = await open(
      `/auth/signin?returnTo=${encodeURIComponent('/oauth/success?serverName=x')}`,
      cookieHeader,
    );
    expect(page.statusCode).toBe(200);
    expectPageHeaders(page);
    expect(page.body).toContain('Signed in as <strong>alice@example.com</strong>');
    expect(page.body).toContain('<a class="button" href="/oauth/success?serverName=x">Continue</a>');
    expect(page.body).toContain('action="/auth/signout"');
    const csrf = hiddenValue(page.body, '_csrf');
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    secrets.push(csrf!);
    // With no return path there is nowhere to continue to: only the sign-out button.
    expect((await open('/auth/signin', cookieHeader)).body).not.toContain('Continue');
  });

  it('a wrong password: 401 with the form again, the email kept and a plain message; no cookie', async () => {
    const res = await signIn({ email: 'alice@example.com', password: 'not the password', returnTo: '/x' });
    expect(res.statusCode).toBe(401);
    expectPageHeaders(res);
    expect(res.body).toContain('Wrong email or password.');
    expect(res.body).toContain('value="alice@example.com"');
    expect(hiddenValue(res.body, 'returnTo')).toBe('/x');
    expect(res.cookies).toEqual([]);
  });

  it('a disabled account: a plain 403 page and no cookie', async () => {
    const carol = await hub.repos.users.create({
      email: 'carol@example.com',
      passwordHash: await hashPassword(PASSWORD),
    });
    await hub.accounts.update(null, carol.id, { disabled: true });
    const res = await signIn({ email: 'carol@example.com', password: PASSWORD });
    expect(res.statusCode).toBe(403);
    expectPageHeaders(res);
    expect(res.body).toContain('This account is disabled');
    expect(res.cookies).toEqual([]);
  });

  it('login CSRF: a sign-in posted from another site is refused with 403 before any password check', async () => {
    const before = hub.logLines.length;
    for (const headers of [
      { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      { 'sec-fetch-site': 'same-site', origin: 'https://sub.127.0.0.1' },
      { origin: 'https://evil.example' },
    ]) {
      const res = await signIn(
        { email: 'alice@example.com', password: PASSWORD },
        { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      );
      expect(res.statusCode).toBe(403);
      expectPageHeaders(res);
      expect(res.body).toContain('sent from another site');
      expect(res.cookies).toEqual([]);
    }
    const outcomes = hub.logLines.slice(before).filter((line) => line.includes('"msg":"browser sign-in"'));
    expect(outcomes.every((line) => line.includes('"outcome":"cross_site"'))).toBe(true);
    expect(outcomes).toHaveLength(3);
    // A browser without Fetch Metadata that names the hub's own origin is fine.
    const own = await signIn(
      { email: 'alice@example.com', password: PASSWORD },
      { 'content-type': 'application/x-www-form-urlencoded', origin: PUBLIC_URL },
    );
    expect(own.statusCode).toBe(303);
    secrets.push(sessionCookie(own)!.slice('sb_session='.length));
  });

  it('only small form bodies are read: JSON → 415, oversize → 413, missing fields → 400, each a page', async () => {
    const json = await hub.app.inject({
      method: 'POST',
      url: '/auth/signin',
      headers: { 'content-type': 'application/json', ...OWN_FORM },
      payload: { email: 'alice@example.com', password: PASSWORD },
    });
    expect(json.statusCode).toBe(415);
    expect(json.headers['content-type']).toContain('text/html');
    const big = await signIn({ email: 'alice@example.com', password: 'p'.repeat(9000) });
    expect(big.statusCode).toBe(413);
    const missing = await hub.app.inject({
      method: 'POST',
      url: '/auth/signin',
      headers: FORM,
      payload: 'email=alice%40example.com',
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.headers['content-type']).toContain('text/html');
  });

  it('rotation: signing in through the form ends the session the browser brought', async () => {
    const planted = await signedIn('bob@example.com');
    const res = await signIn({ email: 'alice@example.com', password: PASSWORD, cookie: planted });
    expect(res.statusCode).toBe(303);
    const fresh = sessionCookie(res)!;
    secrets.push(fresh.slice('sb_session='.length));
    expect(fresh).not.toBe(planted);
    expect((await me(planted)).statusCode).toBe(401);
    expect((await me(fresh)).json()).toMatchObject({ email: 'alice@example.com' });
  });

  it('POST /auth/signout: refused without the CSRF field; with it, the row is gone and the browser lands on the sign-in page', async () => {
    const cookieHeader = await signedIn();
    const page = await open('/auth/signin', cookieHeader);
    const csrf = hiddenValue(page.body, '_csrf')!;
    secrets.push(csrf);
    const post = (fields: Record<string, string>) =>
      hub.app.inject({
        method: 'POST',
        url: '/auth/signout',
        headers: { ...FORM, cookie: cookieHeader },
        payload: new URLSearchParams(fields).toString(),
      });
    const forged = await post({ returnTo: '/x' });
    expect(forged.statusCode).toBe(403);
    expectPageHeaders(forged);
    expect((await me(cookieHeader)).statusCode).toBe(200);
    const out = await post({ _csrf: csrf, returnTo: '/api/mcp/oauth/link/abc' });
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe(
      `${PUBLIC_URL}/auth/signin?returnTo=${encodeURIComponent('/api/mcp/oauth/link/abc')}`,
    );
    expect(out.cookies.find((c) => c.name === 'sb_session')).toMatchObject({ value: '', path: '/' });
    expect((await me(cookieHeader)).statusCode).toBe(401);
    // Replaying the old cookie finds nothing to sign out, and lands on the sign-in page all the same.
    const again = await post({ _csrf: csrf });
    expect(again.statusCode).toBe(303);
    expect(again.headers.location).toBe(`${PUBLIC_URL}/auth/signin`);
  });

  it('SE-01: no log line holds a password, a session token or a CSRF token', () => {
    expect(secrets.length).toBeGreaterThan(8);
    const logs = hub.logLines.join('\n');
    for (const secret of secrets) expect(logs.includes(secret), 'a secret is in the logs').toBe(false);
    expect(logs).not.toMatch(/sb_session=/);
  });
});

describe('the sign-in page with single-sign-on providers and a path prefix', () => {
  it('links one button per provider to <prefix>/auth/sso/<id>/start with the same return path, names escaped', async () => {
    const hub = await startTestHub({ env: { PUBLIC_URL: 'https://hub.example/switchboard' } });
    const app = Fastify();
    try {
      app.setValidatorCompiler(validatorCompiler);
      app.setSerializerCompiler(serializerCompiler);
      await app.register(cookie);
      await app.register(signInRoutes, {
        identity: hub.identity,
        sessions: hub.sessions,
        publicUrl: 'https://hub.example/switchboard',
        loginAttemptsPerMinute: 100,
        ssoProviders: [
          { id: 'corp', name: 'Corp <Entra>' },
          { id: 'keycloak', name: 'Keycloak' },
        ],
      });
      const returnTo = '/switchboard/api/mcp/oauth/link/abc';
      const res = await app.inject({
        method: 'GET',
        url: `/auth/signin?returnTo=${encodeURIComponent(returnTo)}`,
      });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('<form method="post" action="/switchboard/auth/signin">');
      const encoded = encodeURIComponent(returnTo);
      expect(res.body).toContain(
        `<a class="button secondary" href="/switchboard/auth/sso/corp/start?returnTo=${encoded}">Sign in with Corp &lt;Entra&gt;</a>`,
      );
      expect(res.body).toContain(`href="/switchboard/auth/sso/keycloak/start?returnTo=${encoded}"`);
      expect(res.body.indexOf('/corp/start')).toBeLessThan(res.body.indexOf('/keycloak/start'));

      await hub.repos.users.create({
        email: 'alice@example.com',
        passwordHash: await hashPassword(PASSWORD),
      });
      const signedIn = await app.inject({
        method: 'POST',
        url: '/auth/signin',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
        payload: new URLSearchParams({ email: 'alice@example.com', password: PASSWORD, returnTo }).toString(),
      });
      expect(signedIn.statusCode).toBe(303);
      expect(signedIn.headers.location).toBe(`https://hub.example${returnTo}`);
      expect(signedIn.cookies.find((c) => c.name === 'sb_session')).toMatchObject({
        path: '/switchboard/',
        secure: true,
        httpOnly: true,
      });
    } finally {
      await app.close();
      await hub.dispose();
    }
  });
});

describe('sign-in rate limit', () => {
  it('sign-in posts are capped per client like POST /api/auth/login (a page, with Retry-After)', async () => {
    const hub = await startTestHub({ env: { PUBLIC_URL }, loginAttemptsPerMinute: 2 });
    try {
      const post = () =>
        hub.app.inject({
          method: 'POST',
          url: '/auth/signin',
          headers: FORM,
          payload: 'email=a%40example.com&password=x',
        });
      expect((await post()).statusCode).toBe(401);
      expect((await post()).statusCode).toBe(401);
      const limited = await post();
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['content-type']).toContain('text/html');
      expect(limited.headers['retry-after']).toBeDefined();
      expect(limited.body).toContain('Too many attempts');
    } finally {
      await hub.dispose();
    }
  });
});
