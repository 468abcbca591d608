import { type ExpressionBuilder, type Kysely, type Selectable, sql } from 'kysely';
import { HubError } from '../errors/index.js';
import { inTransaction, type RepositoryDeps } from './repository-deps.js';
import type { AclEntriesTable, Database } from './tables.js';

/** Per-resource permission bits; an entry's `permBits` is an OR of these. */
export const aclBits = { VIEW: 1, EDIT: 2, DELETE: 4, SHARE: 8 } as const;

/** What an ACL can be about. */
export type AclResourceType = 'mcp_server';

/**
 * Who an ACL entry is for: one user, one group, or everyone; or an e-mail address that named no
 * account when it was granted. An `address` entry grants nothing (no check ever matches it): it is
 * kept so the list reads the same whether or not the address has an account (V-13).
 */
export type AclPrincipal =
  | { type: 'user'; id: string }
  | { type: 'group'; id: string }
  | { type: 'public' }
  | { type: 'address'; email: string };

/** One principal's bits on one resource. */
export interface AclEntry {
  resourceType: AclResourceType;
  resourceId: string;
  principal: AclPrincipal;
  permBits: number;
  grantedBy: string | null;
  createdAt: number;
}

/** A grant: the principal's bits become exactly `permBits`. */
export interface AclGrant {
  resourceId: string;
  principal: AclPrincipal;
  permBits: number;
  grantedBy: string | null;
  /** Defaults to 'mcp_server'. */
  resourceType?: AclResourceType | undefined;
}

/** One line of a full replacement list. */
export interface AclReplacementEntry {
  principal: AclPrincipal;
  permBits: number;
}

/** Access control lists. Every function's resource type defaults to 'mcp_server'. */
export interface AclRepository {
  /** Sets the principal's bits on the resource, creating or replacing its entry. */
  grant(grant: AclGrant): Promise<AclEntry>;
  /** Removes the principal's entry; false when there was none. */
  revoke(resourceId: string, principal: AclPrincipal, resourceType?: AclResourceType): Promise<boolean>;
  /** The resource's entries: users, then groups, then public. */
  listForResource(resourceId: string, resourceType?: AclResourceType): Promise<AclEntry[]>;
  /**
   * Makes `entries` the resource's whole list, atomically. Throws `HUB_ERR_BAD_REQUEST` when
   * a principal appears twice.
   */
  replaceForResource(
    resourceId: string,
    entries: readonly AclReplacementEntry[],
    grantedBy: string | null,
    resourceType?: AclResourceType,
  ): Promise<AclEntry[]>;
  /** The OR of the bits granted to the user, to any of the groups, and to everyone. */
  effectiveBits(
    resourceId: string,
    userId: string,
    groupIds: readonly string[],
    resourceType?: AclResourceType,
  ): Promise<number>;
  /** Removes every entry of the resource; returns how many there were. */
  deleteForResource(resourceId: string, resourceType?: AclResourceType): Promise<number>;
  /** Ids of the resources where the user, one of the groups, or everyone holds `bit`; sorted. */
  listResourcesVisibleTo(
    userId: string,
    groupIds: readonly string[],
    bit: number,
    resourceType?: AclResourceType,
  ): Promise<string[]>;
}

/** Builds the {@link AclRepository}. */
export function createAclRepository({ db, clock }: RepositoryDeps): AclRepository {
  return {
    grant: async ({ resourceId, principal, permBits, grantedBy, resourceType = 'mcp_server' }) => {
      const row = await db
        .insertInto('acl_entries')
        .values({
          resource_type: resourceType,
          resource_id: resourceId,
          principal_type: principal.type,
          principal_id: storedPrincipalId(principal),
          perm_bits: permBits,
          granted_by: grantedBy,
          created_at: clock.now(),
        })
        // One statement, so concurrent grants cannot both insert.
        .onConflict((oc) =>
          oc
            .columns(['resource_type', 'resource_id', 'principal_type', 'principal_id'])
            .doUpdateSet((eb) => ({
              perm_bits: eb.ref('excluded.perm_bits'),
              granted_by: eb.ref('excluded.granted_by'),
            })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toEntry(row);
    },

    revoke: async (resourceId, principal, resourceType = 'mcp_server') => {
      const result = await db
        .deleteFrom('acl_entries')
        .where('resource_type', '=', resourceType)
        .where('resource_id', '=', resourceId)
        .where('principal_type', '=', principal.type)
        .where('principal_id', '=', storedPrincipalId(principal))
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    listForResource: (resourceId, resourceType = 'mcp_server') => selectEntries(db, resourceId, resourceType),

    replaceForResource: async (resourceId, entries, grantedBy, resourceType = 'mcp_server') => {
      const keys = new Set(entries.map((e) => `${e.principal.type}:${storedPrincipalId(e.principal)}`));
      if (keys.size !== entries.length) {
        throw new HubError('HUB_ERR_BAD_REQUEST', { message: 'The same principal is listed more than once' });
      }
      const now = clock.now();
      return inTransaction(db, async (trx) => {
        await trx
          .deleteFrom('acl_entries')
          .where('resource_type', '=', resourceType)
          .where('resource_id', '=', resourceId)
          .execute();
        if (entries.length > 0) {
          await trx
            .insertInto('acl_entries')
            .values(
              entries.map((e) => ({
                resource_type: resourceType,
                resource_id: resourceId,
                principal_type: e.principal.type,
                principal_id: storedPrincipalId(e.principal),
                perm_bits: e.permBits,
                granted_by: grantedBy,
                created_at: now,
              })),
            )
            .execute();
        }
        return selectEntries(trx, resourceId, resourceType);
      });
    },

    effectiveBits: async (resourceId, userId, groupIds, resourceType = 'mcp_server') => {
      // Few rows match, and PostgreSQL's bit_or has no SQLite counterpart: OR them here.
      const rows = await db
        .selectFrom('acl_entries')
        .select('perm_bits')
        .where('resource_type', '=', resourceType)
        .where('resource_id', '=', resourceId)
        .where((eb) => heldBy(eb, userId, groupIds))
        .execute();
      return rows.reduce((bits, row) => bits | row.perm_bits, 0);
    },

    deleteForResource: async (resourceId, resourceType = 'mcp_server') => {
      const result = await db
        .deleteFrom('acl_entries')
        .where('resource_type', '=', resourceType)
        .where('resource_id', '=', resourceId)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    listResourcesVisibleTo: async (userId, groupIds, bit, resourceType = 'mcp_server') => {
      const rows = await db
        .selectFrom('acl_entries')
        .select('resource_id')
        .distinct()
        .where('resource_type', '=', resourceType)
        .where(sql<boolean>`(${sql.ref('perm_bits')} & ${bit}) <> 0`)
        .where((eb) => heldBy(eb, userId, groupIds))
        .orderBy('resource_id')
        .execute();
      return rows.map((r) => r.resource_id);
    },
  };
}

/** Rank of each principal type in listings: the most specific first. */
const principalOrder: Record<AclPrincipal['type'], number> = { user: 0, address: 1, group: 2, public: 3 };

async function selectEntries(
  db: Kysely<Database>,
  resourceId: string,
  resourceType: AclResourceType,
): Promise<AclEntry[]> {
  const rows = await db
    .selectFrom('acl_entries')
    .selectAll()
    .where('resource_type', '=', resourceType)
    .where('resource_id', '=', resourceId)
    .execute();
  return rows.map(toEntry).sort((a, b) => {
    const byType = principalOrder[a.principal.type] - principalOrder[b.principal.type];
    return byType !== 0 ? byType : storedPrincipalId(a.principal) < storedPrincipalId(b.principal) ? -1 : 1;
  });
}

/** Entries that apply to this user: their own, their groups', and everyone's (never an `address` one). */
function heldBy(eb: ExpressionBuilder<Database, 'acl_entries'>, userId: string, groupIds: readonly string[]) {
  return eb.or([
    eb.and([eb('principal_type', '=', 'user'), eb('principal_id', '=', userId)]),
    // An empty IN list is a syntax error in SQL, so groups join only when there are some.
    ...(groupIds.length > 0
      ? [eb.and([eb('principal_type', '=', 'group'), eb('principal_id', 'in', groupIds)])]
      : []),
    eb('principal_type', '=', 'public'),
  ]);
}

function storedPrincipalId(principal: AclPrincipal): string {
  if (principal.type === 'public') return '';
  return principal.type === 'address' ? principal.email : principal.id;
}

function toPrincipal(type: string, id: string): AclPrincipal {
  if (type === 'user' || type === 'group') return { type, id };
  if (type === 'public') return { type };
  if (type === 'address') return { type, email: id };
  throw new TypeError(`Unknown ACL principal type ${type}`);
}

function toResourceType(type: string): AclResourceType {
  if (type === 'mcp_server') return type;
  throw new TypeError(`Unknown ACL resource type ${type}`);
}

function toEntry(row: Selectable<AclEntriesTable>): AclEntry {
  return {
    resourceType: toResourceType(row.resource_type),
    resourceId: row.resource_id,
    principal: toPrincipal(row.principal_type, row.principal_id),
    permBits: row.perm_bits,
    grantedBy: row.granted_by,
    createdAt: row.created_at,
  };
}
