import { SignJWT, exportJWK, generateKeyPair, UnsecuredJWT } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenService, HUB_TOKEN_ISSUER, type TokenClaims } from './tokens.js';

const clock = { now: () => 1_800_000_000_000 };
const secret = 'test-secret-that-is-long-enough-0123456789';
const nowSeconds = Math.floor(clock.now() / 1000);

async function hs256(payload: Record<string, unknown>, key = secret, exp = nowSeconds + 60): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(key));
}

/** The subject a token names, whichever kind it is. */
const subjectOf = (claims: TokenClaims): string => (claims.kind === 'hub' ? claims.userId : claims.subject);

describe('token service (HS256)', () => {
  const tokens = createTokenService({ jwtSecret: secret, clock });

  it('V-06: an HS256 token without the hub’s issuer names a subject of the shared-secret issuer, from `id`, else `sub`', async () => {
    expect(await tokens.verify(await hs256({ id: 'u1', email: 'a@x.io' }))).toEqual({
      kind: 'external',
      issuer: 'jwt-secret',
      subject: 'u1',
      email: 'a@x.io',
      emailVerified: false,
    });
    expect(await tokens.verify(await hs256({ sub: 'u2', iss: 'https://chat.example' }))).toMatchObject({
      kind: 'external',
      issuer: 'jwt-secret',
      subject: 'u2',
    });
    expect(await tokens.verify(await hs256({ sub: 'u3', email_verified: 'true' }))).toMatchObject({
      emailVerified: false,
    });
    expect(await tokens.verify(await hs256({ sub: 'u4', email_verified: true }))).toMatchObject({
      emailVerified: true,
    });
  });

  it('remembers a verified token only until it expires', async () => {
    let now = clock.now();
    const moving = createTokenService({ jwtSecret: secret, clock: { now: () => now } });
    const token = await hs256({ id: 'u9' }, secret, nowSeconds + 30);
    expect(subjectOf(await moving.verify(token))).toBe('u9');
    now += 29_000;
    expect(subjectOf(await moving.verify(token))).toBe('u9');
    now += 2_000; // past `exp`: verified again, and refused
    await expect(moving.verify(token)).rejects.toMatchObject({ code: 'HUB_ERR_INVALID_TOKEN' });
  });

  it('round-trips its own tokens, with the hub’s issuer and the user’s epoch', async () => {
    const token = await tokens.sign({ userId: 'u3', epoch: 4 }, 60);
    expect(await tokens.verify(token)).toEqual({ kind: 'hub', userId: 'u3', epoch: 4 });
  });

  it('signs a different token each time, even for one user at one instant (a refresh is fresh)', async () => {
    const first = await tokens.sign({ userId: 'u3', epoch: 4 }, 60);
    const second = await tokens.sign({ userId: 'u3', epoch: 4 }, 60);
    expect(second).not.toBe(first);
    expect(await tokens.verify(second)).toEqual({ kind: 'hub', userId: 'u3', epoch: 4 });
  });

  it.each([
    ['expired', () => hs256({ id: 'u1' }, secret, nowSeconds - 1)],
    ['signed with another key', () => hs256({ id: 'u1' }, 'another-secret-of-sufficient-length!!')],
    ['alg none', () => Promise.resolve(new UnsecuredJWT({ id: 'u1', exp: nowSeconds + 60 }).encode())],
    [
      'without exp',
      () =>
        new SignJWT({ id: 'u1' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret)),
    ],
    ['without a user id', () => hs256({ email: 'x@y.z' })],
    ['with the hub’s issuer but no epoch', () => hs256({ iss: HUB_TOKEN_ISSUER, sub: 'u1' })],
    [
      'with the hub’s issuer and a negative epoch',
      () => hs256({ iss: HUB_TOKEN_ISSUER, sub: 'u1', epoch: -1 }),
    ],
    ['with a subject longer than 255 characters', () => hs256({ sub: 'x'.repeat(256) })],
    ['garbage', () => Promise.resolve('not.a.jwt')],
    ['empty header', () => Promise.resolve('..')],
  ])('AZ-01: rejects a token %s', async (_name, make) => {
    await expect(tokens.verify(await make())).rejects.toMatchObject({ code: 'HUB_ERR_INVALID_TOKEN' });
  });
});

describe('token service (external issuer via JWKS)', () => {
  let server: Server;
  let jwksUrl: string;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  let publicPem: string;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    publicPem = JSON.stringify(jwk);
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const rs256 = (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer('https://idp.test')
      .setAudience('switchboard')
      .setExpirationTime(nowSeconds + 60)
      .sign(privateKey);

  it('accepts a token from the configured issuer and audience', async () => {
    const tokens = createTokenService({
      jwtSecret: secret,
      clock,
      external: { jwksUrl, issuer: 'https://idp.test', audience: 'switchboard' },
    });
    expect(await tokens.verify(await rs256({ sub: 'ext-1', id: 'ignored', email_verified: true }))).toEqual({
      kind: 'external',
      issuer: 'https://idp.test',
      subject: 'ext-1',
      email: undefined,
      emailVerified: true,
    });
  });

  it('AZ-01: rejects the wrong issuer or audience', async () => {
    const wrongIssuer = createTokenService({
      jwtSecret: secret,
      clock,
      external: { jwksUrl, issuer: 'https://other.test', audience: 'switchboard' },
    });
    await expect(wrongIssuer.verify(await rs256({ sub: 'x' }))).rejects.toMatchObject({
      code: 'HUB_ERR_INVALID_TOKEN',
    });
    const wrongAudience = createTokenService({
      jwtSecret: secret,
      clock,
      external: { jwksUrl, issuer: 'https://idp.test', audience: 'elsewhere' },
    });
    await expect(wrongAudience.verify(await rs256({ sub: 'x' }))).rejects.toMatchObject({
      code: 'HUB_ERR_INVALID_TOKEN',
    });
  });

  it('AZ-01: an HS256 token signed with the public key (key confusion) is refused', async () => {
    const tokens = createTokenService({
      jwtSecret: secret,
      clock,
      external: { jwksUrl, issuer: 'https://idp.test', audience: 'switchboard' },
    });
    const forged = await hs256({ sub: 'admin' }, publicPem);
    await expect(tokens.verify(forged)).rejects.toMatchObject({ code: 'HUB_ERR_INVALID_TOKEN' });
  });

  it('an RS256 token is refused when no external issuer is configured', async () => {
    const tokens = createTokenService({ jwtSecret: secret, clock });
    await expect(tokens.verify(await rs256({ sub: 'x' }))).rejects.toMatchObject({
      code: 'HUB_ERR_INVALID_TOKEN',
    });
  });
});
