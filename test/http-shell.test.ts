import { SignJWT } from 'jose';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/auth/index.js';
import { startTestHub, type TestHub } from './support/hub.js';

const JWT_SECRET = 'an-http-shell-test-secret-of-enough-length';

describe('HTTP shell', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ env: { JWT_SECRET } });
    await hub.repos.users.create({
      email: 'alice@example.com',
      passwordHash: await hashPassword('alice-password'),
    });
  });
  afterAll(async () => hub.dispose());

  it('GET /healthz answers 200', async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('every response carries the security headers, and pages keep their own policy', async () => {
    for (const url of ['/healthz', '/api/auth/me', '/no-such-route']) {
      const res = await hub.app.inject({ method: 'GET', url });
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['content-security-policy']).toMatch(/^default-src 'self';.*frame-ancestors 'none'/);
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
    const page = await hub.app.inject({ method: 'GET', url: '/oauth/success' });
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });

  it('logs one line per request, naming it without its query string', async () => {
    const before = hub.logLines.length;
    await hub.app.inject({ method: 'GET', url: '/api/auth/me?probe=1' });
    const lines = hub.logLines.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.msg)).not.toContain('incoming request');
    const completed = lines.filter((l) => l.msg === 'request completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({
      req: { method: 'GET', url: '/api/auth/me' },
      res: { statusCode: 401 },
    });
  });

  it('GET /readyz checks the database and the KV', async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', checks: { database: 'ok', kv: 'ok' } });
  });

  it('GET /metrics exposes a per-route request histogram', async () => {
    await hub.app.inject({ method: 'GET', url: '/healthz' });
    const res = await hub.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toMatch(
      /switchboard_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} \d+/,
    );
  });

  it('unknown routes get a JSON 404 with a code', async () => {
    const res = await hub.app.inject({ method: 'GET', url: '/nope/../../etc/passwd' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ message: 'Route not found', code: 'HUB_ERR_ROUTE_NOT_FOUND' });
  });

  it('logs in with email + password and the token works on /api/auth/me', async () => {
    const login = await hub.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'Alice@Example.com', password: 'alice-password' },
    });
    expect(login.statusCode).toBe(200);
    const body = login.json<{ token: string; user: { email: string; role: string } }>();
    expect(body.user).toMatchObject({ email: 'alice@example.com', role: 'USER' });
    expect(body).not.toHaveProperty('user.passwordHash');
    const me = await hub.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: { authorization: `Bearer ${body.token}` },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({
      id: expect.any(String),
      email: 'alice@example.com',
      role: 'USER',
      permissions: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: false, SHARE_PUBLIC: false } },
    });
  });

  it('a wrong password and an unknown email get the same 401', async () => {
    const wrong = await hub.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'alice@example.com', password: 'nope' },
    });
    const unknown = await hub.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'bob@example.com', password: 'nope' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.json()).toEqual({
      message: 'Invalid email or password',
      code: 'HUB_ERR_INVALID_CREDENTIALS',
    });
  });

  it('a LibreChat token (HS256, `id` claim) for a user the hub has not seen is accepted as a USER of its own', async () => {
    const token = await new SignJWT({ id: 'librechat-user-1', email: 'lc@example.com' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JWT_SECRET));
    const me = await hub.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(me.statusCode).toBe(200);
    // The hub gives the account an id of its own: LibreChat's id names it only within that issuer.
    expect(me.json()).toMatchObject({ email: 'lc@example.com', role: 'USER' });
    const { id } = me.json<{ id: string }>();
    expect(id).not.toBe('librechat-user-1');
    expect(
      await hub.repos.users.findByIdentity({ issuer: 'jwt-secret', subject: 'librechat-user-1' }),
    ).toMatchObject({ id, origin: 'external' });
  });

  it.each([
    ['no header', undefined],
    ['a non-bearer scheme', 'Basic YWxpY2U6cHc='],
    ['garbage', 'Bearer garbage'],
    ['an empty bearer', 'Bearer '],
    ['a huge token', `Bearer ${'a'.repeat(20_000)}`],
    ['a token with control characters', 'Bearer abc.\u0001.def'],
  ])('AZ-01: /api/auth/me with %s → 401', async (_name, authorization) => {
    const res = await hub.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: authorization === undefined ? {} : { authorization },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toHaveProperty('code');
  });

  it('an expired token → 401', async () => {
    const token = await new SignJWT({ id: 'u-expired' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(new TextEncoder().encode(JWT_SECRET));
    const res = await hub.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ message: 'Invalid or expired token', code: 'HUB_ERR_INVALID_TOKEN' });
  });

  describe('bad input to POST /api/auth/login', () => {
    const post = (payload: string, contentType = 'application/json') =>
      hub.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload,
        headers: { 'content-type': contentType },
      });

    it('malformed JSON → 400 with a code and no parser echo', async () => {
      const res = await post('{"email": "a@b.c", "password": <<SECRET-ECHO>>');
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({
        message: 'Request body is not valid JSON',
        code: 'HUB_ERR_MALFORMED_JSON',
      });
      expect(res.body).not.toContain('SECRET-ECHO');
    });

    it('an empty JSON body → 400', async () => {
      const res = await post('');
      expect(res.statusCode).toBe(400);
    });

    it('a body over the limit → 413', async () => {
      const res = await post(JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(2 * 1024 * 1024) }));
      expect(res.statusCode).toBe(413);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_BODY_TOO_LARGE' });
    });

    it('a wrong content type → 415', async () => {
      const res = await post('email=a&password=b', 'application/x-www-form-urlencoded');
      expect(res.statusCode).toBe(415);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_UNSUPPORTED_MEDIA_TYPE' });
    });

    it.each([
      ['missing fields', {}],
      ['wrong types', { email: 42, password: ['x'] }],
      ['an array', [1, 2]],
      ['null', null],
    ])('%s → 400 naming the fields', async (_name, body) => {
      const res = await post(JSON.stringify(body));
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'HUB_ERR_VALIDATION', errors: expect.any(Array) });
    });
  });

  it('login attempts are rate limited per client', async () => {
    const limited = await startTestHub({ env: { JWT_SECRET }, loginAttemptsPerMinute: 3 });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await limited.app.inject({
          method: 'POST',
          url: '/api/auth/login',
          payload: { email: 'x@y.z', password: 'guess' },
        });
        codes.push(res.statusCode);
      }
      expect(codes).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await limited.dispose();
    }
  });

  it('the process survived all of it', async () => {
    expect((await hub.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('no log line carries a token, password or the JWT secret', async () => {
    const token = await hub.userToken('carol@example.com');
    await hub.app.inject({
      method: 'GET',
      url: '/api/auth/me',
      headers: { authorization: `Bearer ${token}` },
    });
    await hub.app.inject({
      method: 'GET',
      url: `/api/auth/me?token=${token}`,
      headers: { cookie: `session=${token}` },
    });
    const all = hub.logLines.join('\n');
    expect(hub.logLines.length).toBeGreaterThan(10);
    for (const secret of [token, JWT_SECRET, 'alice-password', 'SECRET-ECHO'])
      expect(all).not.toContain(secret);
  });
});

describe('embedded secrets', () => {
  it('generates JWT_SECRET and CREDENTIALS_KEY once into the data directory with mode 0600, and says so', async () => {
    const hub = await startTestHub();
    try {
      for (const file of ['jwt-secret', 'credentials-key']) {
        const info = await stat(path.join(hub.dataDir, file));
        expect(info.mode & 0o777).toBe(0o600);
      }
      expect(hub.logLines.some((l) => l.includes('JWT_SECRET was not set'))).toBe(true);
      const token = await hub.userToken('d@example.com');
      expect(
        (
          await hub.app.inject({
            method: 'GET',
            url: '/api/auth/me',
            headers: { authorization: `Bearer ${token}` },
          })
        ).statusCode,
      ).toBe(200);
    } finally {
      await hub.dispose();
    }
  });

  it('refuses to start in production without them', async () => {
    await expect(startTestHub({ env: { NODE_ENV: 'production' } })).rejects.toMatchObject({
      code: 'HUB_ERR_SECRET_MISSING',
    });
  });
});
