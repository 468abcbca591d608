import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createDatabase,
  createRepositories,
  migrateToLatest,
  type Repositories,
  type StoreDatabase,
} from '../src/store/index.js';

const postgresUrl = inject('postgresUrl');
const clock = { now: () => 1_700_000_000_000 };

const targets = [
  { name: 'sqlite', skip: false },
  // Skipped only without PostgreSQL; under CI=true the global setup fails the run instead.
  { name: 'postgres', skip: postgresUrl === '' },
] as const;

/** Groups an identity provider maintains: the store's side of group sync, on both dialects. */
describe.each(targets)('IdP-maintained group memberships ($name)', ({ name, skip }) => {
  let store: StoreDatabase;
  let repos: Repositories;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-sso-groups-'));
  const pgSchema = `sso_groups_${randomBytes(6).toString('hex')}`;
  let counter = 0;
  const newUser = async () => (await repos.users.create({ email: `u${(counter += 1)}@example.com` })).id;
  const namesOf = async (userId: string) => {
    const ids = await repos.groups.listGroupIdsForUser(userId);
    const groups = await Promise.all(ids.map((id) => repos.groups.findById(id)));
    return groups.map((g) => g!.name).sort();
  };

  beforeAll(async () => {
    if (skip) return;
    store =
      name === 'sqlite'
        ? await createDatabase({ sqlitePath: path.join(dir, 'hub.db') })
        : await createDatabase({ databaseUrl: postgresUrl, sqlitePath: 'unused.db', pgSchema });
    await migrateToLatest(store.db);
    repos = createRepositories({ db: store.db, clock });
  });

  afterAll(async () => {
    if (skip) return;
    try {
      if (name === 'postgres') await sql`drop schema if exists ${sql.id(pgSchema)} cascade`.execute(store.db);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(skip)('creates groups of the source and adds, then removes, memberships to match', async () => {
    const user = await newUser();
    const first = await repos.groups.syncSourcedMemberships(user, 'oidc:kc', ['eng', 'ops', 'eng']);
    expect(first).toEqual({ added: ['eng', 'ops'], removed: [], skipped: [] });
    expect((await repos.groups.findByName('eng'))?.source).toBe('oidc:kc');
    expect(await namesOf(user)).toEqual(['eng', 'ops']);

    const second = await repos.groups.syncSourcedMemberships(user, 'oidc:kc', ['eng', 'sales']);
    expect(second).toEqual({ added: ['sales'], removed: ['ops'], skipped: [] });
    expect(await namesOf(user)).toEqual(['eng', 'sales']);

    expect(await repos.groups.syncSourcedMemberships(user, 'oidc:kc', [])).toEqual({
      added: [],
      removed: ['eng', 'sales'],
      skipped: [],
    });
    expect(await namesOf(user)).toEqual([]);
    // The groups stay: other members and the servers shared with them keep their meaning.
    expect(await repos.groups.findByName('ops')).not.toBeNull();
  });

  it.skipIf(skip)('never joins, leaves or takes over a group of another source', async () => {
    const user = await newUser();
    const own = await repos.groups.create('hub-team');
    await repos.groups.addMember(own.id, user);
    await repos.groups.syncSourcedMemberships(user, 'oidc:other', ['shared-name']);

    const result = await repos.groups.syncSourcedMemberships(user, 'oidc:kc', ['hub-team', 'shared-name']);
    expect(result).toEqual({ added: [], removed: [], skipped: ['hub-team', 'shared-name'] });
    expect((await repos.groups.findByName('hub-team'))?.source).toBeNull();
    expect((await repos.groups.findByName('shared-name'))?.source).toBe('oidc:other');

    // An empty claim from one provider leaves the hub's own group and the other provider's alone.
    await repos.groups.syncSourcedMemberships(user, 'oidc:kc', []);
    expect(await namesOf(user)).toEqual(['hub-team', 'shared-name']);
  });

  it.skipIf(skip)('settles concurrent sign-ins that create the same group', async () => {
    const users = await Promise.all([newUser(), newUser(), newUser()]);
    await Promise.all(users.map((u) => repos.groups.syncSourcedMemberships(u, 'oidc:kc', ['race'])));
    for (const u of users) expect(await namesOf(u)).toEqual(['race']);
  });
});
