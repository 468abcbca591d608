import type { Identity } from '../auth/index.js';
import { HubError } from '../errors/index.js';
import type { RegisteredServer } from '../registry/index.js';
import {
  aclBits,
  type AclEntry,
  type AclReplacementEntry,
  type Repositories,
  type ServerRecord,
} from '../store/index.js';
import {
  ALL_BITS,
  ROLE_BITS,
  requireBit,
  requireRole,
  roleOfBits,
  serverNotFound,
  type ServerAccess,
  type ShareRole,
} from './access.js';
import { toAuditEvent } from './audit-log.js';
import {
  createPrincipalSearch,
  normaliseAddress,
  type PrincipalMatch,
  type PrincipalQuery,
} from './principal-search.js';
import { GrantResolver, principalText } from './grant-resolver.js';
import type { ServerConnections } from './server-connections.js';
import { createTargetResolver, requireDbTarget } from './target.js';

/** What everyone may do with a server: nothing (null), use it, or edit it. */
export type PublicRole = 'viewer' | 'editor' | null;

/**
 * One grant as the permissions routes show it. A user is shown by e-mail address, whether or not
 * an account has it (V-13: the list must not tell the two apart); by id only when the account is
 * gone. Groups (the admin's) are shown by id.
 */
export interface PrincipalView {
  type: 'user' | 'group';
  /** Groups; a user whose account no longer exists; and the owner. */
  id?: string;
  /** Users: the account's address, or the address as granted. */
  email?: string;
  /** Groups: the group's name. */
  name?: string;
  role: ShareRole;
}

/** `GET /api/mcp/servers/:serverName/permissions`. */
export interface PermissionsView {
  /** The servers table id (what LibreChat's client calls `dbId`). */
  serverId: string;
  serverName: string;
  owner: { id: string; email: string | null };
  public: PublicRole;
  principals: PrincipalView[];
}

/** One grant in a PUT: a user by `id` or `email`, a group by `id` or `name`. */
export interface PrincipalInput {
  type: 'user' | 'group';
  id?: string | undefined;
  email?: string | undefined;
  name?: string | undefined;
  role: ShareRole;
}

/** `PUT …/permissions`: the new grants (the owner always stays); `public` omitted keeps the current one. */
export interface PermissionsInput {
  public?: PublicRole | undefined;
  principals: readonly PrincipalInput[];
}

/** Sharing of user-created servers. */
export interface SharingService {
  /** Needs USE and SHARE on the server. */
  get(caller: Identity, name: string): Promise<PermissionsView>;
  /**
   * Replaces the grants. Needs USE and SHARE on the server, the SHARE role permission when the
   * grants to users or groups change and SHARE_PUBLIC when `public` does. Users who lose access
   * lose their connections at once (AZ-11).
   */
  set(caller: Identity, name: string, input: PermissionsInput): Promise<PermissionsView>;
  /** The grants of a server named by its id (the servers table id); the same checks as {@link get}. */
  getById(caller: Identity, serverId: string): Promise<PermissionsView>;
  /**
   * Changes some grants of a server named by its id and keeps the rest; the same checks as
   * {@link set}. The owner can be neither removed nor given a smaller role (400).
   */
  changeById(caller: Identity, serverId: string, change: GrantChange): Promise<PermissionsView>;
  /** The caller's bits on a server named by its id; 404 without VIEW, as for an unknown id (AZ-02). */
  effectiveBits(caller: Identity, serverId: string): Promise<number>;
  /** The caller's bits on every user-created server they hold VIEW on, by server id. */
  allEffectiveBits(caller: Identity): Promise<Map<string, number>>;
  /** People and groups to share with, never telling whether an address has an account (V-13). */
  searchPrincipals(caller: Identity, query: PrincipalQuery): Promise<PrincipalMatch[]>;
}

/** A principal already on a server's list: a user by `id` or `email`, a group by `id` or `name`. */
export interface PrincipalRef {
  type: 'user' | 'group';
  id?: string | undefined;
  email?: string | undefined;
  name?: string | undefined;
}

/** An incremental change: grant or re-grant `upsert`, drop `remove`; `public` omitted keeps it. */
export interface GrantChange {
  upsert: readonly PrincipalInput[];
  remove: readonly PrincipalRef[];
  public?: PublicRole | undefined;
}

function publicBitsOf(entries: readonly AclEntry[]): number {
  return entries.find((e) => e.principal.type === 'public')?.permBits ?? 0;
}

/** The public entry's bits after a change: `undefined` keeps the current ones, null removes them. */
function publicBitsFor(role: PublicRole | undefined, current: readonly AclEntry[]): number {
  if (role === undefined) return publicBitsOf(current);
  return role === null ? 0 : ROLE_BITS[role];
}

/** Builds the {@link SharingService}. */
export function createSharingService(deps: {
  repos: Repositories;
  yaml: readonly RegisteredServer[];
  access: ServerAccess;
  connections: ServerConnections;
}): SharingService {
  const { repos, access } = deps;
  const resolve = createTargetResolver({ yaml: deps.yaml, servers: repos.servers, access });
  const search = createPrincipalSearch({ repos, access });
  const grants = new GrantResolver(repos);

  /**
   * A stable text of the grants to users and groups, to tell whether a PUT changes them. Users are
   * keyed by address when their account has one, so a grant whose address has meanwhile gained an
   * account reads as unchanged (V-13: the answer must not depend on it).
   */
  const grantsKey = async (entries: readonly AclReplacementEntry[], ownerId: string): Promise<string> => {
    const keys: string[] = [];
    for (const { principal, permBits } of entries) {
      if (principal.type === 'public' || (principal.type === 'user' && principal.id === ownerId)) continue;
      let key = principalText(principal);
      if (principal.type === 'user') {
        const user = await repos.users.findById(principal.id);
        if (user !== null) key = `address:${normaliseAddress(user.email)}`;
      }
      keys.push(`${key}:${permBits}`);
    }
    return keys.sort().join(',');
  };

  /** By id there is no YAML server: an unknown id and an invisible server are the same 404 (AZ-02). */
  const shareableById = async (caller: Identity, serverId: string): Promise<ServerRecord> => {
    requireRole(caller, 'USE');
    const record = await repos.servers.findById(serverId);
    if (record === null) throw serverNotFound(serverId);
    requireBit(await access.bitsFor(record, caller), aclBits.SHARE, serverId);
    return record;
  };

  const shareable = async (caller: Identity, name: string): Promise<ServerRecord> => {
    requireRole(caller, 'USE');
    const target = await resolve(caller, name);
    if (target.kind === 'yaml') {
      throw new HubError('HUB_ERR_FORBIDDEN', {
        message: `MCP server '${target.server.name}' is shared through its 'access' block in the configuration file`,
      });
    }
    const { record, bits } = requireDbTarget(target);
    requireBit(bits, aclBits.SHARE, name);
    return record;
  };

  const view = async (record: ServerRecord, entries: readonly AclEntry[]): Promise<PermissionsView> => {
    const owner = await repos.users.findById(record.ownerId);
    const users: PrincipalView[] = [];
    const groups: PrincipalView[] = [];
    for (const entry of entries) {
      const role = roleOfBits(entry.permBits);
      const principal = entry.principal;
      if (role === null || principal.type === 'public') continue;
      if (principal.type === 'group') {
        const group = await repos.groups.findById(principal.id);
        groups.push({ type: 'group', id: principal.id, ...(group ? { name: group.name } : {}), role });
      }
      // V-13: an address with an account and one without are shown alike, by address.
      else if (principal.type === 'address') users.push({ type: 'user', email: principal.email, role });
      else if (principal.id !== record.ownerId) {
        const user = await repos.users.findById(principal.id);
        users.push(
          user ? { type: 'user', email: user.email, role } : { type: 'user', id: principal.id, role },
        );
      }
    }
    // Ordered by what is shown, so the order says nothing of which addresses have accounts.
    const shown = (p: PrincipalView): string => p.email ?? p.id ?? '';
    users.sort((a, b) => (shown(a) < shown(b) ? -1 : shown(a) > shown(b) ? 1 : 0));
    const publicRole = roleOfBits(publicBitsOf(entries));
    return {
      serverId: record.id,
      serverName: record.name,
      owner: { id: record.ownerId, email: owner?.email ?? null },
      public: publicRole === 'owner' ? 'editor' : publicRole,
      // The owner first, whatever the ACL holds: the owner cannot be removed.
      principals: [
        { type: 'user', id: record.ownerId, ...(owner ? { email: owner.email } : {}), role: 'owner' },
        ...users,
        ...groups,
      ],
    };
  };

  /**
   * Saves the owner's entry, `requested` and the public entry as the whole list, after the role
   * permission checks; users who lose access lose their connections at once (AZ-11).
   */
  const commit = async (
    caller: Identity,
    record: ServerRecord,
    current: readonly AclEntry[],
    requested: readonly AclReplacementEntry[],
    publicBits: number,
  ): Promise<AclEntry[]> => {
    const next: AclReplacementEntry[] = [
      { principal: { type: 'user', id: record.ownerId }, permBits: ALL_BITS },
      ...requested,
      ...(publicBits === 0 ? [] : [{ principal: { type: 'public' as const }, permBits: publicBits }]),
    ];
    // Role permissions: sharing with users and groups needs SHARE, with everyone SHARE_PUBLIC.
    if ((await grantsKey(next, record.ownerId)) !== (await grantsKey(current, record.ownerId)))
      requireRole(caller, 'SHARE');
    if (publicBits !== publicBitsOf(current)) requireRole(caller, 'SHARE_PUBLIC');

    const saved = await repos.transaction(async (trx) => {
      const entries = await trx.acl.replaceForResource(record.id, next, caller.userId);
      await trx.audit.record(
        toAuditEvent({
          actorId: caller.userId,
          action: 'server.share',
          serverName: record.name,
          details: {
            serverId: record.id,
            public: roleOfBits(publicBits),
            principals: requested.map((e) => `${principalText(e.principal)}:${roleOfBits(e.permBits) ?? ''}`),
          },
        }),
      );
      return entries;
    });

    // AZ-11: whoever can no longer see the server loses their connection now, not at idle time.
    const before = current.flatMap((e) => (e.principal.type === 'user' ? [e.principal.id] : []));
    const after = new Set(requested.flatMap((e) => (e.principal.type === 'user' ? [e.principal.id] : [])));
    // On every instance: the ACL is read again there for each user holding a connection.
    await deps.connections.closeUsers(
      record.name,
      before.filter((id) => id !== record.ownerId && !after.has(id)),
    );
    return saved;
  };

  return {
    async get(caller, name) {
      const record = await shareable(caller, name);
      return view(record, await repos.acl.listForResource(record.id));
    },

    async set(caller, name, input) {
      const record = await shareable(caller, name);
      const current = await repos.acl.listForResource(record.id);
      const requested = (await grants.resolve(input.principals)).filter(
        (e) => !(e.principal.type === 'user' && e.principal.id === record.ownerId),
      );
      const saved = await commit(caller, record, current, requested, publicBitsFor(input.public, current));
      return view(record, saved);
    },

    async getById(caller, serverId) {
      const record = await shareableById(caller, serverId);
      return view(record, await repos.acl.listForResource(record.id));
    },

    async changeById(caller, serverId, change) {
      const record = await shareableById(caller, serverId);
      const current = await repos.acl.listForResource(record.id);
      const requested = await grants.merge(record, current, change);
      const entries = await commit(caller, record, current, requested, publicBitsFor(change.public, current));
      return view(record, entries);
    },

    async effectiveBits(caller, serverId) {
      requireRole(caller, 'USE');
      const record = await repos.servers.findById(serverId);
      const bits = record === null ? 0 : await access.bitsFor(record, caller);
      if ((bits & aclBits.VIEW) === 0) throw serverNotFound(serverId);
      return bits;
    },

    allEffectiveBits: (caller) => {
      requireRole(caller, 'USE');
      return search.visibleBits(caller);
    },

    searchPrincipals: (caller, query) => {
      requireRole(caller, 'USE', 'SHARE');
      return search.search(caller, query);
    },
  };
}
