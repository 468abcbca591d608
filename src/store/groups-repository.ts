import type { Selectable } from 'kysely';
import { systemRandom } from '../core/index.js';
import { HubError } from '../errors/index.js';
import { isForeignKeyViolation, isUniqueViolation } from './constraint-errors.js';
import { newId } from './ids.js';
import { inTransaction, type RepositoryDeps } from './repository-deps.js';
import type { GroupsTable } from './tables.js';

/** A named set of users that ACL entries can name as a principal. */
export interface GroupRecord {
  id: string;
  name: string;
  /** `oidc:<provider id>` for a group an identity provider's claim maintains; null for the hub's own. */
  source: string | null;
  createdAt: number;
}

/** What {@link GroupsRepository.syncSourcedMemberships} changed, by group name. */
export interface SourcedGroupSync {
  added: string[];
  removed: string[];
  /** Names the claim carried that a group of another source (or the hub's own) already holds. */
  skipped: string[];
}

/** Groups and their members: just enough to resolve a user's groups for ACL checks. */
export interface GroupsRepository {
  /** Throws `HUB_ERR_CONFLICT` when the name is taken. */
  create(name: string): Promise<GroupRecord>;
  findByName(name: string): Promise<GroupRecord | null>;
  findById(id: string): Promise<GroupRecord | null>;
  /** Idempotent. Throws `HUB_ERR_NOT_FOUND` when the group or the user does not exist. */
  addMember(groupId: string, userId: string): Promise<void>;
  /** False when the user was not a member. */
  removeMember(groupId: string, userId: string): Promise<boolean>;
  /** The ids of the user's groups, sorted: what `acl.effectiveBits` takes. */
  listGroupIdsForUser(userId: string): Promise<string[]>;
  /** Deletes the group, its memberships and the ACL entries naming it; false when there was no such group. */
  delete(groupId: string): Promise<boolean>;
  /**
   * Makes the user's memberships of `source`'s groups exactly `names`, in one transaction: each
   * name becomes a group of that source when no group has it, memberships are added and removed to
   * match. Groups of any other source are never joined, left or changed; a name one of them holds is
   * reported as skipped.
   */
  syncSourcedMemberships(userId: string, source: string, names: readonly string[]): Promise<SourcedGroupSync>;
}

/** Builds the {@link GroupsRepository}. */
export function createGroupsRepository({
  db,
  clock,
  random = systemRandom,
}: RepositoryDeps): GroupsRepository {
  return {
    create: async (name) => {
      try {
        const row = await db
          .insertInto('groups')
          .values({ id: newId(random), name, created_at: clock.now() })
          .returningAll()
          .executeTakeFirstOrThrow();
        return toRecord(row);
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new HubError('HUB_ERR_CONFLICT', {
            message: 'A group with this name already exists',
            cause: error,
          });
        }
        throw error;
      }
    },

    findByName: async (name) => {
      const row = await db.selectFrom('groups').selectAll().where('name', '=', name).executeTakeFirst();
      return row === undefined ? null : toRecord(row);
    },

    findById: async (id) => {
      const row = await db.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : toRecord(row);
    },

    addMember: async (groupId, userId) => {
      try {
        await db
          .insertInto('group_members')
          .values({ group_id: groupId, user_id: userId, created_at: clock.now() })
          .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
          .execute();
      } catch (error) {
        if (isForeignKeyViolation(error)) throw new HubError('HUB_ERR_NOT_FOUND', { cause: error });
        throw error;
      }
    },

    removeMember: async (groupId, userId) => {
      const result = await db
        .deleteFrom('group_members')
        .where('group_id', '=', groupId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    listGroupIdsForUser: async (userId) => {
      const rows = await db
        .selectFrom('group_members')
        .select('group_id')
        .where('user_id', '=', userId)
        .orderBy('group_id')
        .execute();
      return rows.map((r) => r.group_id);
    },

    delete: (groupId) =>
      inTransaction(db, async (trx) => {
        // Memberships go with the group through ON DELETE CASCADE; ACL entries name the group
        // without a foreign key, so they are removed here in the same transaction.
        const result = await trx.deleteFrom('groups').where('id', '=', groupId).executeTakeFirst();
        if (result.numDeletedRows === 0n) return false;
        await trx
          .deleteFrom('acl_entries')
          .where('principal_type', '=', 'group')
          .where('principal_id', '=', groupId)
          .execute();
        return true;
      }),

    syncSourcedMemberships: (userId, source, names) =>
      inTransaction(db, async (trx) => {
        const wanted = new Map<string, string>();
        const skipped: string[] = [];
        for (const name of new Set(names)) {
          // Concurrent sign-ins may create the same group: the loser's insert does nothing and
          // both read the winner's row.
          await trx
            .insertInto('groups')
            .values({ id: newId(random), name, source, created_at: clock.now() })
            .onConflict((oc) => oc.column('name').doNothing())
            .execute();
          const group = await trx
            .selectFrom('groups')
            .select(['id', 'source'])
            .where('name', '=', name)
            .executeTakeFirstOrThrow();
          if (group.source === source) wanted.set(group.id, name);
          else skipped.push(name);
        }
        const current = await trx
          .selectFrom('group_members')
          .innerJoin('groups', 'groups.id', 'group_members.group_id')
          .select(['groups.id', 'groups.name'])
          .where('group_members.user_id', '=', userId)
          .where('groups.source', '=', source)
          .execute();
        const held = new Set(current.map((row) => row.id));
        const added: string[] = [];
        for (const [groupId, name] of wanted) {
          if (held.has(groupId)) continue;
          await trx
            .insertInto('group_members')
            .values({ group_id: groupId, user_id: userId, created_at: clock.now() })
            .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
            .execute();
          added.push(name);
        }
        const leaving = current.filter((row) => !wanted.has(row.id));
        if (leaving.length > 0) {
          await trx
            .deleteFrom('group_members')
            .where('user_id', '=', userId)
            .where(
              'group_id',
              'in',
              leaving.map((row) => row.id),
            )
            .execute();
        }
        return { added, removed: leaving.map((row) => row.name), skipped };
      }),
  };
}

function toRecord(row: Selectable<GroupsTable>): GroupRecord {
  return { id: row.id, name: row.name, source: row.source, createdAt: row.created_at };
}
