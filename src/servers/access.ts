import type { Identity } from '../auth/index.js';
import { HubError } from '../errors/index.js';
import { aclBits, type AclRepository, type GroupsRepository, type ServerRecord } from '../store/index.js';

/** Every per-server bit: what the owner and admins hold. */
export const ALL_BITS = aclBits.VIEW | aclBits.EDIT | aclBits.DELETE | aclBits.SHARE;

/** The roles of the permissions routes. */
export type ShareRole = 'viewer' | 'editor' | 'owner';

/** viewer = VIEW, editor = VIEW+EDIT, owner = all four. */
export const ROLE_BITS: Readonly<Record<ShareRole, number>> = {
  viewer: aclBits.VIEW,
  editor: aclBits.VIEW | aclBits.EDIT,
  owner: ALL_BITS,
};

/** The largest role whose bits an entry holds in full; null when it holds not even VIEW. */
export function roleOfBits(bits: number): ShareRole | null {
  if ((bits & ALL_BITS) === ALL_BITS) return 'owner';
  if ((bits & ROLE_BITS.editor) === ROLE_BITS.editor) return 'editor';
  if ((bits & aclBits.VIEW) !== 0) return 'viewer';
  return null;
}

/** Answers "which bits does this caller hold on this server". */
export interface ServerAccess {
  /** ADMIN and the owner hold every bit; others what their user, groups and the public entry grant. */
  bitsFor(
    server: Pick<ServerRecord, 'id' | 'ownerId'>,
    caller: Pick<Identity, 'userId' | 'role'>,
  ): Promise<number>;
  /** Ids of the servers the caller holds VIEW on through the ACL (own, shared, group, public). */
  visibleIds(caller: Pick<Identity, 'userId'>): Promise<string[]>;
}

/** Builds {@link ServerAccess} over the ACL and group membership. */
export function createServerAccess(deps: {
  acl: Pick<AclRepository, 'effectiveBits' | 'listResourcesVisibleTo'>;
  groups: Pick<GroupsRepository, 'listGroupIdsForUser'>;
}): ServerAccess {
  return {
    async bitsFor(server, caller) {
      // The creator owns the server and ADMIN bypasses the ACL.
      if (caller.role === 'ADMIN' || server.ownerId === caller.userId) return ALL_BITS;
      const groupIds = await deps.groups.listGroupIdsForUser(caller.userId);
      return deps.acl.effectiveBits(server.id, caller.userId, groupIds);
    },
    async visibleIds(caller) {
      const groupIds = await deps.groups.listGroupIdsForUser(caller.userId);
      return deps.acl.listResourcesVisibleTo(caller.userId, groupIds, aclBits.VIEW);
    },
  };
}

/** The role permissions a route needs; a 403 that names nothing about any server. */
export function requireRole(
  caller: Identity,
  ...needed: ('USE' | 'CREATE' | 'SHARE' | 'SHARE_PUBLIC')[]
): void {
  if (needed.some((permission) => !caller.permissions[permission])) throw new HubError('HUB_ERR_FORBIDDEN');
}

/**
 * Gate for one server: without VIEW the server does not exist for the caller (404, AZ-02); with
 * VIEW but without the bit asked for, a 403 reveals nothing new.
 */
export function requireBit(bits: number, bit: number, name: string): void {
  if ((bits & aclBits.VIEW) === 0) throw serverNotFound(name);
  if ((bits & bit) === 0) throw new HubError('HUB_ERR_FORBIDDEN');
}

/** The 404 for a server that does not exist or is hidden from the caller. */
export function serverNotFound(name: string): HubError {
  return new HubError('HUB_ERR_SERVER_NOT_FOUND', { message: `MCP server '${name}' not found` });
}
