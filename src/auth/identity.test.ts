import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  createRepositories,
  migrateToLatest,
  type Repositories,
  type StoreDatabase,
} from '../store/index.js';
import { createIdentityService } from './identity.js';
import { createTokenService } from './tokens.js';

const secret = 'identity-unit-test-secret-0123456789abcdef';
const clock = { now: () => Date.now() };
const roles = {
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: false, SHARE_PUBLIC: false } },
  ADMIN: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: true } },
};
const hs256 = (claims: Record<string, unknown>) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));

describe('identity service over the real store', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-identity-'));
  let store: StoreDatabase;
  let repos: Repositories;
  const tokens = createTokenService({ jwtSecret: secret, clock });

  beforeAll(async () => {
    store = await createDatabase({ sqlitePath: path.join(dir, 'hub.db') });
    await migrateToLatest(store.db);
    repos = createRepositories({ db: store.db, clock });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an account made from an external token before identities were stored is adopted by the first token naming it, once', async () => {
    const identity = createIdentityService({ tokens, users: repos.users, roles, clock });
    // As the old code made it: the LibreChat id as the hub id, marked legacy by the migration.
    await store.db
      .insertInto('users')
      .values({
        id: '6650c0ffee0000000000beef',
        email: 'old@example.com',
        password_hash: null,
        role: 'USER',
        origin: 'legacy',
        token_epoch: 0,
        disabled_at: null,
        created_at: 1,
        updated_at: 1,
      })
      .execute();
    const who = await identity.authenticate(await hs256({ id: '6650c0ffee0000000000beef' }));
    expect(who).toMatchObject({
      userId: '6650c0ffee0000000000beef',
      email: 'old@example.com',
      external: { issuer: 'jwt-secret', subject: '6650c0ffee0000000000beef' },
    });
    expect((await repos.users.findById(who.userId))?.origin).toBe('external');
    // V-06: the same subject named by another issuer is refused: the account is that identity's now.
    const otherIssuer = createIdentityService({
      tokens: {
        verify: () =>
          Promise.resolve({
            kind: 'external',
            issuer: 'https://idp.test',
            subject: '6650c0ffee0000000000beef',
            email: undefined,
            emailVerified: false,
          }),
        sign: () => Promise.reject(new Error('unused')),
      },
      users: repos.users,
      roles,
      clock,
    });
    await expect(otherIssuer.authenticate('any')).rejects.toMatchObject({ code: 'HUB_ERR_INVALID_TOKEN' });
  });

  it('V-04: with the cache on, a change is seen after forget(); with it off, at once', async () => {
    let hearing = true;
    const cached = createIdentityService({
      tokens,
      users: repos.users,
      roles,
      clock,
      cache: { ttlMs: 60_000, active: () => hearing },
    });
    const uncached = createIdentityService({ tokens, users: repos.users, roles, clock });
    const user = await repos.users.create({ email: 'cache@example.com' });
    const token = await uncached.issueToken(user);
    expect((await cached.authenticate(token)).role).toBe('USER');
    await repos.users.setRole(user.id, 'ADMIN');
    expect((await uncached.authenticate(token)).role).toBe('ADMIN');
    expect((await cached.authenticate(token)).role).toBe('USER');
    cached.forget(user.id);
    expect((await cached.authenticate(token)).role).toBe('ADMIN');
    // While changes cannot be heard, nothing is reused.
    hearing = false;
    await repos.users.setRole(user.id, 'USER');
    expect((await cached.authenticate(token)).role).toBe('USER');
  });

  it('V-04: a write by another process (outsideWrites changed) drops every cached account', async () => {
    let written = 1;
    const cached = createIdentityService({
      tokens,
      users: repos.users,
      roles,
      clock,
      cache: { ttlMs: 60_000, active: () => true, outsideWrites: () => written },
    });
    const user = await repos.users.create({ email: 'outside@example.com' });
    const token = await cached.issueToken(user);
    expect((await cached.authenticate(token)).role).toBe('USER');
    await repos.users.setDisabled(user.id, true); // as the CLI would, telling nobody here
    expect((await cached.authenticate(token)).role).toBe('USER'); // the cache does not know yet
    written = 2; // the database reports the other process's commit
    await expect(cached.authenticate(token)).rejects.toMatchObject({ code: 'HUB_ERR_ACCOUNT_DISABLED' });
  });

  it('V-11: issueToken refuses a removed or disabled user; identityOf answers null for both', async () => {
    const identity = createIdentityService({ tokens, users: repos.users, roles, clock });
    const user = await repos.users.create({ email: 'gone@example.com' });
    await repos.users.setDisabled(user.id, true);
    await expect(identity.issueToken(user)).rejects.toMatchObject({ code: 'HUB_ERR_ACCOUNT_DISABLED' });
    expect(await identity.identityOf(user.id)).toBeNull();
    await repos.users.remove(user.id);
    await expect(identity.issueToken(user)).rejects.toMatchObject({ code: 'HUB_ERR_USER_NOT_FOUND' });
    expect(await identity.identityOf(user.id)).toBeNull();
  });
});
