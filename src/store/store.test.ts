import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isHubError, type HubErrorCode } from '../errors/index.js';
import {
  aclBits,
  createDatabase,
  createRepositories,
  migrateToLatest,
  type AclPrincipal,
  type Repositories,
  type StoreDatabase,
} from './index.js';
import * as initial from './migrations/0001-initial.js';

/** One database the whole suite runs against. */
interface Target {
  name: 'sqlite' | 'postgres';
  skip: boolean;
  open(): Promise<StoreDatabase>;
  cleanup(store: StoreDatabase): Promise<void>;
}

const postgresUrl = inject('postgresUrl');
const sqliteDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-store-'));
const pgSchema = `store_test_${randomBytes(6).toString('hex')}`;

const targets: Target[] = [
  {
    name: 'sqlite',
    skip: false,
    // A missing parent directory is part of the test: createDatabase must make it.
    open: () => createDatabase({ sqlitePath: path.join(sqliteDir, 'nested', 'hub.db') }),
    cleanup: async (store) => {
      await store.close();
      rmSync(sqliteDir, { recursive: true, force: true });
    },
  },
  {
    name: 'postgres',
    // Skipped only without PostgreSQL; under CI=true the global setup fails the run instead.
    skip: postgresUrl === '',
    open: () => createDatabase({ databaseUrl: postgresUrl, sqlitePath: 'unused.db', pgSchema }),
    cleanup: async (store) => {
      try {
        await sql`drop schema if exists ${sql.id(pgSchema)} cascade`.execute(store.db);
      } finally {
        await store.close();
      }
    },
  },
];

/** A clock the tests move by hand. */
const clock = { ms: 1_700_000_000_000, now: () => clock.ms, tick: (by = 1) => (clock.ms += by) };

let counter = 0;
/** A name no other test in this run uses. */
const unique = (prefix: string): string => `${prefix}${++counter}x${randomBytes(3).toString('hex')}`;

async function expectHubError(promise: Promise<unknown>, code: HubErrorCode): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isHubError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
}

describe('createDatabase', () => {
  it('refuses a URL that is neither empty nor PostgreSQL', async () => {
    await expectHubError(
      createDatabase({ databaseUrl: 'mysql://x', sqlitePath: 'x.db' }),
      'HUB_ERR_CONFIG_INVALID',
    );
  });
  it('refuses a schema name that would need quoting', async () => {
    const url = 'postgres://nobody@127.0.0.1:1/none';
    await expectHubError(
      createDatabase({ databaseUrl: url, sqlitePath: 'x.db', pgSchema: 'a"; drop' }),
      'HUB_ERR_CONFIG_INVALID',
    );
  });
});

for (const target of targets) {
  describe.skipIf(target.skip)(`store on ${target.name}`, () => {
    let store: StoreDatabase;
    let repos: Repositories;
    let firstMigration: string[];

    beforeAll(async () => {
      store = await target.open();
      firstMigration = await migrateToLatest(store.db);
      repos = createRepositories({ db: store.db, clock });
    });
    afterAll(async () => {
      if (store !== undefined) await target.cleanup(store);
    });

    const newUser = (email = `${unique('u')}@example.com`) =>
      repos.users.create({ email, passwordHash: 'h' });

    describe('database and migrations', () => {
      it('opens the right dialect and answers a ping', async () => {
        expect(store.dialect).toBe(target.name);
        await expect(store.ping()).resolves.toBeUndefined();
      });

      it('applies the initial migration once, and nothing the second time', async () => {
        expect(firstMigration).toEqual(['0001_initial', '0002_accounts', '0003_sign_in', '0004_byte_order']);
        expect(await migrateToLatest(store.db)).toEqual([]);
      });

      // Dialect-specific cases (a file on disk, a second PostgreSQL schema) run on their own dialect
      // only; the 3 skips vitest reports are these cases on the other dialect, not cases CI misses.
      it.runIf(target.name === 'sqlite')(
        'creates the directory and uses WAL with foreign keys on',
        async () => {
          expect(existsSync(path.join(sqliteDir, 'nested', 'hub.db'))).toBe(true);
          const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
          expect(mode.rows[0]?.journal_mode).toBe('wal');
          const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(store.db);
          expect(fk.rows[0]?.foreign_keys).toBe(1);
        },
      );

      it.runIf(target.name === 'postgres')('migrates a second schema on its own', async () => {
        const other = `${pgSchema}_b`;
        const second = await createDatabase({
          databaseUrl: postgresUrl,
          sqlitePath: 'unused.db',
          pgSchema: other,
        });
        try {
          expect(await migrateToLatest(second.db)).toEqual([
            '0001_initial',
            '0002_accounts',
            '0003_sign_in',
            '0004_byte_order',
          ]);
        } finally {
          await sql`drop schema if exists ${sql.id(other)} cascade`.execute(second.db);
          await second.close();
        }
      });
    });

    describe('users', () => {
      it.runIf(target.name === 'sqlite')(
        'the accounts migration marks accounts an external token made as legacy, and nothing the hub minted',
        async () => {
          const file = path.join(sqliteDir, `legacy-${unique('m')}.db`);
          const old = await createDatabase({ sqlitePath: file });
          try {
            const first = new Migrator({
              db: old.db,
              provider: { getMigrations: () => Promise.resolve({ '0001_initial': initial }) },
            });
            expect((await first.migrateToLatest()).error).toBeUndefined();
            const row = (id: string, password: string | null) =>
              sql`insert into users (id, email, password_hash, role, created_at, updated_at)
                  values (${id}, ${`${id}@x.io`}, ${password}, 'USER', 1, 1)`.execute(old.db);
            await row('6650c0ffee0000000000beef', null);
            await row('1b4e28ba-2fa1-4d2e-883f-0016d3cca427', null);
            await row('with-password', 'hash');
            expect(await migrateToLatest(old.db)).toEqual([
              '0002_accounts',
              '0003_sign_in',
              '0004_byte_order',
            ]);
            const origins = await createRepositories({ db: old.db, clock }).users.list();
            expect(Object.fromEntries(origins.map((u) => [u.id, u.origin]))).toEqual({
              '6650c0ffee0000000000beef': 'legacy',
              '1b4e28ba-2fa1-4d2e-883f-0016d3cca427': 'local',
              'with-password': 'local',
            });
          } finally {
            await old.close();
          }
        },
      );

      it('creates and finds users, email case-insensitively, with numeric timestamps', async () => {
        const email = `${unique('Mixed')}@Example.COM`;
        const user = await repos.users.create({ email, passwordHash: 'hash', role: 'ADMIN' });
        expect(user).toMatchObject({ email: email.toLowerCase(), passwordHash: 'hash', role: 'ADMIN' });
        expect(user.createdAt).toBe(clock.ms);
        expect(typeof user.createdAt).toBe('number');
        expect(await repos.users.findById(user.id)).toEqual(user);
        expect(await repos.users.findByEmail(email.toUpperCase())).toEqual(user);
        expect(await repos.users.findById('missing')).toBeNull();
        expect(await repos.users.findByEmail('missing@example.com')).toBeNull();
        expect((await repos.users.create({ email: `${unique('d')}@x.io` })).role).toBe('USER');
      });

      it('refuses a second user with the same email in another case', async () => {
        const email = `${unique('dup')}@example.com`;
        await repos.users.create({ email });
        await expectHubError(repos.users.create({ email: email.toUpperCase() }), 'HUB_ERR_USER_EXISTS');
      });

      it('lists users by email and updates password and role', async () => {
        const user = await newUser();
        const listed = await repos.users.list();
        expect(listed.map((u) => u.email)).toEqual([...listed.map((u) => u.email)].sort());
        expect(listed.map((u) => u.id)).toContain(user.id);
        clock.tick(10);
        const withPassword = await repos.users.setPassword(user.id, 'new-hash');
        expect(withPassword).toMatchObject({
          passwordHash: 'new-hash',
          updatedAt: clock.ms,
          createdAt: user.createdAt,
        });
        expect(withPassword?.tokenEpoch).toBe(user.tokenEpoch + 1);
        expect((await repos.users.setPassword(user.id, null))?.passwordHash).toBeNull();
        expect((await repos.users.setRole(user.id, 'ADMIN'))?.role).toBe('ADMIN');
        expect(await repos.users.setRole('missing', 'ADMIN')).toBeNull();
        expect(await repos.users.setPassword('missing', 'x')).toBeNull();
      });

      it('V-12: a password change and a disable raise the token epoch; enabling does not lower it', async () => {
        const user = await newUser();
        expect(user).toMatchObject({ tokenEpoch: 0, disabledAt: null, origin: 'local' });
        const disabled = await repos.users.setDisabled(user.id, true);
        expect(disabled).toMatchObject({ tokenEpoch: 1, disabledAt: clock.ms });
        expect(await repos.users.setDisabled(user.id, false)).toMatchObject({
          tokenEpoch: 1,
          disabledAt: null,
        });
        expect((await repos.users.setRole(user.id, 'ADMIN'))?.tokenEpoch).toBe(1);
        expect(await repos.users.setDisabled('missing', true)).toBeNull();
      });

      it('V-02: an external identity gets its own random id, once, and never another account’s email', async () => {
        const local = await newUser();
        const identity = { issuer: 'https://idp.test', subject: unique('sub-') };
        const [a, b] = await Promise.all([
          repos.users.createExternal({ ...identity, email: local.email.toUpperCase() }),
          repos.users.createExternal({ ...identity, email: local.email.toUpperCase() }),
        ]);
        expect(a).toEqual(b);
        expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(a).toMatchObject({ origin: 'external', role: 'USER', passwordHash: null });
        expect(a.email).toBe(`${a.id}@users.invalid`);
        expect(await repos.users.findByIdentity(identity)).toEqual(a);
        expect(await repos.users.findByIdentity({ ...identity, issuer: 'jwt-secret' })).toBeNull();
        const email = `${unique('free')}@example.com`;
        const c = await repos.users.createExternal({
          issuer: 'jwt-secret',
          subject: identity.subject,
          email,
        });
        expect(c.id).not.toBe(a.id);
        expect(c.email).toBe(email);
        expect((await repos.users.identitiesOf([a.id, c.id, local.id])).get(a.id)).toEqual([identity]);
      });

      it('links an identity to an account and adopts legacy accounts once', async () => {
        const local = await newUser();
        const identity = { issuer: 'jwt-secret', subject: unique('lc-') };
        expect((await repos.users.linkIdentity(local.id, identity))?.id).toBe(local.id);
        // The identity already names an account: linking it elsewhere changes nothing.
        const other = await newUser();
        expect((await repos.users.linkIdentity(other.id, identity))?.id).toBe(local.id);

        const legacyId = unique('legacy-');
        await store.db
          .insertInto('users')
          .values({
            id: legacyId,
            email: `${legacyId}@example.com`,
            password_hash: null,
            role: 'USER',
            origin: 'legacy',
            token_epoch: 0,
            disabled_at: null,
            created_at: clock.ms,
            updated_at: clock.ms,
          })
          .execute();
        const legacy = { issuer: 'jwt-secret', subject: legacyId };
        const [x, y] = await Promise.all([
          repos.users.adoptLegacy(legacyId, legacy),
          repos.users.adoptLegacy(legacyId, legacy),
        ]);
        expect(x?.id).toBe(legacyId);
        expect(y?.id).toBe(legacyId);
        expect((await repos.users.findById(legacyId))?.origin).toBe('external');
        // Adopted once: another issuer naming the same subject gets nothing.
        expect(
          await repos.users.adoptLegacy(legacyId, { issuer: 'https://idp.test', subject: legacyId }),
        ).toBeNull();
        expect(await repos.users.adoptLegacy(local.id, { issuer: 'x', subject: local.id })).toBeNull();
      });

      it('V-11: removing a user deletes their credentials, grants, memberships and identities', async () => {
        const owner = await newUser();
        const gone = await newUser();
        const server = await repos.servers.create({ name: unique('rm'), ownerId: owner.id, config: {} });
        await repos.acl.grant({
          resourceId: server.id,
          principal: { type: 'user', id: gone.id },
          permBits: aclBits.VIEW,
          grantedBy: owner.id,
        });
        const group = await repos.groups.create(unique('g'));
        await repos.groups.addMember(group.id, gone.id);
        for (const serverName of ['a', 'b']) {
          await repos.credentials.put({
            userId: gone.id,
            serverName,
            kind: 'user_vars',
            keyId: 'k',
            ciphertext: 'c',
          });
        }
        await repos.users.linkIdentity(gone.id, { issuer: 'jwt-secret', subject: unique('s') });

        await expectHubError(repos.users.remove(owner.id), 'HUB_ERR_CONFLICT');
        expect(await repos.users.remove(gone.id)).toEqual({ credentials: 2, grants: 1, groupMemberships: 1 });
        expect(await repos.users.findById(gone.id)).toBeNull();
        expect(await repos.credentials.listForUser(gone.id)).toEqual([]);
        expect(await repos.acl.listForResource(server.id)).toEqual([]);
        expect(await repos.groups.listGroupIdsForUser(gone.id)).toEqual([]);
        expect(await repos.users.identitiesOf([gone.id])).toEqual(new Map());
        expect(await repos.users.remove(gone.id)).toBeNull();
      });

      it('pages users by email', async () => {
        const all = await repos.users.list();
        const first = await repos.users.listPage({ limit: 2 });
        expect(first.users.map((u) => u.id)).toEqual(all.slice(0, 2).map((u) => u.id));
        const second = await repos.users.listPage({ limit: 2, after: first.nextCursor! });
        expect(second.users[0]?.id).toBe(all[2]?.id);
      });
    });

    describe('servers', () => {
      it('creates and finds servers by name in any case and by id', async () => {
        const owner = await newUser();
        const name = unique('MyServer');
        const server = await repos.servers.create({
          name,
          ownerId: owner.id,
          config: { url: 'https://x' },
          secrets: 'enc',
        });
        expect(server).toMatchObject({
          name,
          ownerId: owner.id,
          config: { url: 'https://x' },
          secrets: 'enc',
        });
        expect(await repos.servers.findByName(name.toUpperCase())).toEqual(server);
        expect(await repos.servers.findById(server.id)).toEqual(server);
        expect(await repos.servers.findByName('missing')).toBeNull();
        expect(await repos.servers.listNames()).toContain(name);
      });

      it('refuses a duplicate name in another case, and an unknown owner', async () => {
        const owner = await newUser();
        const name = unique('dup');
        await repos.servers.create({ name, ownerId: owner.id, config: {} });
        await expectHubError(
          repos.servers.create({ name: name.toUpperCase(), ownerId: owner.id, config: {} }),
          'HUB_ERR_CONFLICT',
        );
        await expectHubError(
          repos.servers.create({ name: unique('s'), ownerId: 'nobody', config: {} }),
          'HUB_ERR_USER_NOT_FOUND',
        );
      });

      it('pages through a search with a keyset cursor, in name order regardless of case', async () => {
        const owner = await newUser();
        const tag = unique('page');
        const names = ['d', 'B', 'a', 'C', 'e'].map((letter) => `${tag}-${letter}`);
        for (const name of names) await repos.servers.create({ name, ownerId: owner.id, config: {} });
        const seen: string[] = [];
        let after: string | undefined;
        let pages = 0;
        do {
          const page = await repos.servers.list({ search: tag.toUpperCase(), limit: 2, after });
          seen.push(...page.servers.map((s) => s.name));
          after = page.nextCursor ?? undefined;
          pages += 1;
        } while (after !== undefined);
        expect(seen).toEqual([`${tag}-a`, `${tag}-B`, `${tag}-C`, `${tag}-d`, `${tag}-e`]);
        expect(pages).toBe(3);
        const exact = await repos.servers.list({ search: tag, limit: 5 });
        expect(exact.nextCursor).toBeNull();
      });

      it('searches titles, escapes LIKE wildcards and filters by ids', async () => {
        const owner = await newUser();
        const tag = unique('t');
        const titled = await repos.servers.create({
          name: `${tag}-one`,
          ownerId: owner.id,
          config: { title: `Weather 50% ${tag}` },
        });
        const plain = await repos.servers.create({ name: `${tag}_two`, ownerId: owner.id, config: {} });
        const search = async (text: string, ids?: string[]) =>
          (await repos.servers.list({ search: text, ids })).servers.map((s) => s.id);
        expect(await search(`WEATHER 50% ${tag}`)).toEqual([titled.id]);
        expect(await search(`r 5_% ${tag}`)).toEqual([]);
        expect(await search(`${tag}_`)).toEqual([plain.id]);
        expect(await search(tag, [plain.id])).toEqual([plain.id]);
        expect(await search(tag, [])).toEqual([]);
      });

      it('updates config and secrets, and deletes a server with its ACL entries', async () => {
        const owner = await newUser();
        const name = unique('upd');
        const created = await repos.servers.create({
          name,
          ownerId: owner.id,
          config: { a: 1 },
          secrets: 's1',
        });
        clock.tick(5);
        const titled = await repos.servers.update(name.toUpperCase(), {
          config: { title: `Renamed ${name}` },
        });
        expect(titled).toMatchObject({
          config: { title: `Renamed ${name}` },
          secrets: 's1',
          updatedAt: clock.ms,
        });
        expect((await repos.servers.list({ search: `renamed ${name}` })).servers.map((s) => s.id)).toEqual([
          created.id,
        ]);
        expect((await repos.servers.update(name, { secrets: null }))?.secrets).toBeNull();
        expect(await repos.servers.update('missing', { secrets: 'x' })).toBeNull();
        await repos.acl.grant({
          resourceId: created.id,
          principal: { type: 'public' },
          permBits: 1,
          grantedBy: owner.id,
        });
        expect(await repos.servers.delete(name)).toBe(true);
        expect(await repos.servers.findByName(name)).toBeNull();
        expect(await repos.acl.listForResource(created.id)).toEqual([]);
        expect(await repos.servers.delete(name)).toBe(false);
      });
    });

    describe('acl', () => {
      const { VIEW, EDIT, DELETE, SHARE } = aclBits;

      it('grants as an upsert, lists users then groups then public, and revokes', async () => {
        const resourceId = unique('res');
        const user: AclPrincipal = { type: 'user', id: 'u1' };
        await repos.acl.grant({ resourceId, principal: { type: 'public' }, permBits: VIEW, grantedBy: null });
        await repos.acl.grant({
          resourceId,
          principal: { type: 'group', id: 'g1' },
          permBits: VIEW,
          grantedBy: 'admin',
        });
        await repos.acl.grant({ resourceId, principal: user, permBits: VIEW, grantedBy: 'admin' });
        const regranted = await repos.acl.grant({
          resourceId,
          principal: user,
          permBits: VIEW | EDIT,
          grantedBy: 'owner',
        });
        expect(regranted).toMatchObject({
          resourceType: 'mcp_server',
          principal: user,
          permBits: VIEW | EDIT,
          grantedBy: 'owner',
        });
        const entries = await repos.acl.listForResource(resourceId);
        expect(entries.map((e) => [e.principal.type, e.permBits])).toEqual([
          ['user', VIEW | EDIT],
          ['group', VIEW],
          ['public', VIEW],
        ]);
        expect(await repos.acl.revoke(resourceId, { type: 'public' })).toBe(true);
        expect(await repos.acl.revoke(resourceId, { type: 'public' })).toBe(false);
        expect(await repos.acl.deleteForResource(resourceId)).toBe(2);
        expect(await repos.acl.listForResource(resourceId)).toEqual([]);
      });

      it('ORs the bits of the user, their groups and the public', async () => {
        const resourceId = unique('res');
        const grant = (principal: AclPrincipal, permBits: number) =>
          repos.acl.grant({ resourceId, principal, permBits, grantedBy: null });
        await grant({ type: 'user', id: 'alice' }, EDIT);
        await grant({ type: 'group', id: 'g-ops' }, DELETE);
        await grant({ type: 'group', id: 'g-other' }, SHARE);
        await grant({ type: 'public' }, VIEW);
        expect(await repos.acl.effectiveBits(resourceId, 'alice', ['g-ops'])).toBe(VIEW | EDIT | DELETE);
        expect(await repos.acl.effectiveBits(resourceId, 'alice', [])).toBe(VIEW | EDIT);
        expect(await repos.acl.effectiveBits(resourceId, 'bob', ['g-other', 'g-ops'])).toBe(
          VIEW | DELETE | SHARE,
        );
        expect(await repos.acl.effectiveBits(resourceId, 'bob', [])).toBe(VIEW);
        expect(await repos.acl.effectiveBits(unique('none'), 'alice', ['g-ops'])).toBe(0);
      });

      it('lists the resources where a user holds a bit', async () => {
        const user = unique('viewer');
        const [own, viaGroup, editOnly] = [unique('r1'), unique('r2'), unique('r3')];
        await repos.acl.grant({
          resourceId: own,
          principal: { type: 'user', id: user },
          permBits: VIEW | EDIT,
          grantedBy: null,
        });
        await repos.acl.grant({
          resourceId: viaGroup,
          principal: { type: 'group', id: `${user}-g` },
          permBits: VIEW,
          grantedBy: null,
        });
        await repos.acl.grant({
          resourceId: editOnly,
          principal: { type: 'user', id: user },
          permBits: EDIT,
          grantedBy: null,
        });
        const visible = await repos.acl.listResourcesVisibleTo(user, [`${user}-g`], VIEW);
        expect(visible).toEqual(expect.arrayContaining([own, viaGroup]));
        expect(visible).not.toContain(editOnly);
        expect(visible).toEqual([...visible].sort());
        expect(await repos.acl.listResourcesVisibleTo(user, [], EDIT)).toEqual(
          expect.arrayContaining([own, editOnly]),
        );
        expect(await repos.acl.listResourcesVisibleTo(user, [], SHARE)).not.toContain(own);
      });

      it('replaces a whole list atomically and keeps the old list when the new one is invalid', async () => {
        const resourceId = unique('res');
        await repos.acl.grant({
          resourceId,
          principal: { type: 'user', id: 'old' },
          permBits: VIEW,
          grantedBy: null,
        });
        const replaced = await repos.acl.replaceForResource(
          resourceId,
          [
            { principal: { type: 'public' }, permBits: VIEW },
            { principal: { type: 'user', id: 'new' }, permBits: VIEW | SHARE },
          ],
          'admin',
        );
        expect(replaced.map((e) => e.principal)).toEqual([{ type: 'user', id: 'new' }, { type: 'public' }]);
        const duplicate = { principal: { type: 'user', id: 'x' } as const, permBits: VIEW };
        await expectHubError(
          repos.acl.replaceForResource(resourceId, [duplicate, duplicate], 'admin'),
          'HUB_ERR_BAD_REQUEST',
        );
        expect(await repos.acl.listForResource(resourceId)).toEqual(replaced);
        expect(await repos.acl.replaceForResource(resourceId, [], 'admin')).toEqual([]);
      });

      it('rolls back every write of a failed transaction', async () => {
        const resourceId = unique('res');
        const failing = repos.transaction(async (tx) => {
          await tx.acl.grant({ resourceId, principal: { type: 'public' }, permBits: VIEW, grantedBy: null });
          await tx.acl.replaceForResource(
            resourceId,
            [{ principal: { type: 'user', id: 'a' }, permBits: EDIT }],
            null,
          );
          throw new Error('boom');
        });
        await expect(failing).rejects.toThrow('boom');
        expect(await repos.acl.listForResource(resourceId)).toEqual([]);
      });
    });

    describe('credentials', () => {
      const key = (userId: string, serverName: string) => ({
        userId,
        serverName,
        kind: 'oauth_tokens' as const,
      });

      it('upserts atomically: two puts leave one row, and the last one wins', async () => {
        const k = key(unique('user'), unique('srv'));
        const first = await repos.credentials.put({ ...k, keyId: 'k1', ciphertext: 'c1', expiresAt: 100 });
        clock.tick(3);
        const second = await repos.credentials.put({ ...k, keyId: 'k2', ciphertext: 'c2' });
        expect(second).toMatchObject({ id: first.id, createdAt: first.createdAt, updatedAt: clock.ms });
        expect(await repos.credentials.get(k)).toMatchObject({
          keyId: 'k2',
          ciphertext: 'c2',
          expiresAt: null,
          issuer: '',
        });
        await Promise.all(
          ['c3', 'c4', 'c5'].map((ciphertext) => repos.credentials.put({ ...k, keyId: 'k3', ciphertext })),
        );
        const listed = await repos.credentials.listForUser(k.userId);
        expect(listed).toHaveLength(1);
        expect(['c3', 'c4', 'c5']).toContain((await repos.credentials.get(k))?.ciphertext);
      });

      it('keeps issuers and kinds apart, and lists metadata without ciphertext', async () => {
        const userId = unique('user');
        const serverName = unique('srv');
        await repos.credentials.put({ ...key(userId, serverName), keyId: 'k', ciphertext: 'plain' });
        await repos.credentials.put({
          ...key(userId, serverName),
          issuer: 'https://as',
          keyId: 'k',
          ciphertext: 'iss',
        });
        await repos.credentials.put({
          userId,
          serverName,
          kind: 'user_vars',
          keyId: 'k',
          ciphertext: 'vars',
        });
        expect(
          (await repos.credentials.get({ ...key(userId, serverName), issuer: 'https://as' }))?.ciphertext,
        ).toBe('iss');
        const listed = await repos.credentials.listForUser(userId);
        expect(listed.map((c) => [c.kind, c.issuer])).toEqual([
          ['oauth_tokens', ''],
          ['oauth_tokens', 'https://as'],
          ['user_vars', ''],
        ]);
        for (const item of listed) expect(item).not.toHaveProperty('ciphertext');
        expect(await repos.credentials.get(key(userId, 'missing'))).toBeNull();
      });

      it('deletes one credential, one user-server pair, or a server for everyone', async () => {
        const [alice, bob, system] = [unique('alice'), unique('bob'), 'system'];
        const [s1, s2] = [unique('s1'), unique('s2')];
        for (const userId of [alice, bob, system]) {
          for (const serverName of [s1, s2])
            await repos.credentials.put({ ...key(userId, serverName), keyId: 'k', ciphertext: 'c' });
        }
        expect(await repos.credentials.delete(key(alice, s1))).toBe(true);
        expect(await repos.credentials.delete(key(alice, s1))).toBe(false);
        await repos.credentials.put({
          userId: bob,
          serverName: s1,
          kind: 'api_key',
          keyId: 'k',
          ciphertext: 'c',
        });
        expect(await repos.credentials.deleteForUserServer(bob, s1)).toBe(2);
        expect(await repos.credentials.deleteForServer(s2)).toBe(3);
        expect((await repos.credentials.listForUser(system)).map((c) => c.serverName)).toContain(s1);
        expect(await repos.credentials.listForUser(alice)).toEqual([]);
      });
    });

    describe('audit', () => {
      it('records events and pages newest first, ties in one millisecond included', async () => {
        clock.tick(1000);
        const recorded = [];
        for (let i = 0; i < 5; i += 1) {
          if (i !== 2) clock.tick();
          recorded.push(
            await repos.audit.record({
              actorId: 'u1',
              action: 'server.create',
              targetId: `t${i}`,
              details: { i },
            }),
          );
        }
        expect(recorded[0]).toMatchObject({
          actorId: 'u1',
          targetType: null,
          targetId: 't0',
          details: { i: 0 },
        });
        const seen: string[] = [];
        let after: string | undefined;
        do {
          const page = await repos.audit.list({ limit: 2, after });
          seen.push(...page.events.map((e) => e.id));
          after = page.nextCursor ?? undefined;
        } while (after !== undefined);
        const newestFirst = [...recorded]
          .sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1))
          .map((e) => e.id);
        expect(seen).toEqual(newestFirst);
        clock.tick();
        const system = await repos.audit.record({ actorId: null, action: 'hub.start' });
        expect(system.details).toEqual({});
        expect((await repos.audit.list({ limit: 1 })).events[0]?.id).toBe(system.id);
        await expectHubError(repos.audit.list({ after: 'not-a-cursor' }), 'HUB_ERR_BAD_REQUEST');
      });
    });

    describe('groups', () => {
      it('manages groups and memberships, and a deleted group loses its ACL entries', async () => {
        const user = await newUser();
        const name = unique('team');
        const group = await repos.groups.create(name);
        await expectHubError(repos.groups.create(name), 'HUB_ERR_CONFLICT');
        expect(await repos.groups.findByName(name)).toEqual(group);
        expect(await repos.groups.findByName('missing')).toBeNull();
        await repos.groups.addMember(group.id, user.id);
        await repos.groups.addMember(group.id, user.id);
        await expectHubError(repos.groups.addMember(group.id, 'nobody'), 'HUB_ERR_NOT_FOUND');
        expect(await repos.groups.listGroupIdsForUser(user.id)).toEqual([group.id]);
        expect(await repos.groups.removeMember(group.id, user.id)).toBe(true);
        expect(await repos.groups.removeMember(group.id, user.id)).toBe(false);
        await repos.groups.addMember(group.id, user.id);
        const resourceId = unique('res');
        await repos.acl.grant({
          resourceId,
          principal: { type: 'group', id: group.id },
          permBits: 1,
          grantedBy: null,
        });
        expect(await repos.groups.delete(group.id)).toBe(true);
        expect(await repos.groups.delete(group.id)).toBe(false);
        expect(await repos.groups.listGroupIdsForUser(user.id)).toEqual([]);
        expect(await repos.acl.listForResource(resourceId)).toEqual([]);
      });
    });
  });
}
