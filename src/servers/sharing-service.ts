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
  type ServerAccess,
  type ShareRole,
} from './access.js';
import { toAuditEvent } from './audit-log.js';
import type { ServerConnections } from './server-connections.js';
import { createTargetResolver, requireDbTarget } from './target.js';

/** What everyone may do with a server: nothing (null), use it, or edit it. */
export type PublicRole = 'viewer' | 'editor' | null;

/** One grant as API.md's permissions routes show it. */
export interface PrincipalView {
  type: 'user' | 'group';
  id: string;
  /** Users only, when the user still exists. */
  email?: string;
  role: ShareRole;
}

/** `GET /api/mcp/servers/:serverName/permissions`. */
export interface PermissionsView {
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

/** Sharing of user-created servers (API.md, issue 5 item 2). */
export interface SharingService {
  /** Needs USE and SHARE on the server. */
  get(caller: Identity, name: string): Promise<PermissionsView>;
  /**
   * Replaces the grants. Needs USE and SHARE on the server, the SHARE role permission when the
   * grants to users or groups change and SHARE_PUBLIC when `public` does. Users who lose access
   * lose their connections at once (AZ-11).
   */
  set(caller: Identity, name: string, input: PermissionsInput): Promise<PermissionsView>;
}

/** API.md's 400 for a permissions body that names unknown or repeated principals. */
function invalidPermissions(errors: { path: string; message: string }[]): HubError {
  const first = errors[0]?.message ?? 'invalid';
  return new HubError('HUB_ERR_VALIDATION', {
    message: errors.length === 1 ? `Invalid permissions: ${first}` : 'Invalid permissions',
    details: { errors },
  });
}

/** A stable text of the grants to users and groups, to tell whether a PUT changes them. */
function grantsKey(entries: readonly AclReplacementEntry[], ownerId: string): string {
  return entries
    .filter(
      (e) => e.principal.type !== 'public' && !(e.principal.type === 'user' && e.principal.id === ownerId),
    )
    .map((e) => `${e.principal.type}:${e.principal.type === 'public' ? '' : e.principal.id}:${e.permBits}`)
    .sort()
    .join(',');
}

function publicBitsOf(entries: readonly AclEntry[]): number {
  return entries.find((e) => e.principal.type === 'public')?.permBits ?? 0;
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
    const principals: PrincipalView[] = [];
    for (const entry of entries) {
      const role = roleOfBits(entry.permBits);
      if (role === null || entry.principal.type === 'public') continue;
      if (entry.principal.type === 'group') {
        principals.push({ type: 'group', id: entry.principal.id, role });
        continue;
      }
      const user =
        entry.principal.id === record.ownerId ? owner : await repos.users.findById(entry.principal.id);
      principals.push({ type: 'user', id: entry.principal.id, ...(user ? { email: user.email } : {}), role });
    }
    // The owner first, whatever the ACL holds: the owner cannot be removed (API.md).
    const rest = principals.filter((p) => !(p.type === 'user' && p.id === record.ownerId));
    const publicRole = roleOfBits(publicBitsOf(entries));
    return {
      serverName: record.name,
      owner: { id: record.ownerId, email: owner?.email ?? null },
      public: publicRole === 'owner' ? 'editor' : publicRole,
      principals: [
        { type: 'user', id: record.ownerId, ...(owner ? { email: owner.email } : {}), role: 'owner' },
        ...rest,
      ],
    };
  };

  /** The ACL entries for the requested grants; every unknown user or group is named in the 400. */
  const resolvePrincipals = async (inputs: readonly PrincipalInput[]): Promise<AclReplacementEntry[]> => {
    const errors: { path: string; message: string }[] = [];
    const entries: AclReplacementEntry[] = [];
    const seen = new Set<string>();
    for (const [index, input] of inputs.entries()) {
      const path = `principals[${index}]`;
      const given = [input.id, input.email, input.name].filter((v) => v !== undefined).length;
      if (
        given !== 1 ||
        (input.type === 'user' && input.name !== undefined) ||
        (input.type === 'group' && input.email !== undefined)
      ) {
        errors.push({
          path,
          message:
            input.type === 'user'
              ? "give exactly one of 'id' or 'email'"
              : "give exactly one of 'id' or 'name'",
        });
        continue;
      }
      let id: string | undefined;
      if (input.type === 'user') {
        const user =
          input.id !== undefined
            ? await repos.users.findById(input.id)
            : await repos.users.findByEmail(input.email ?? '');
        if (user === null)
          errors.push({ path, message: `unknown user ${JSON.stringify(input.id ?? input.email)}` });
        id = user?.id;
      } else if (input.name !== undefined) {
        const group = await repos.groups.findByName(input.name);
        if (group === null) errors.push({ path, message: `unknown group ${JSON.stringify(input.name)}` });
        id = group?.id;
      } else {
        id = input.id;
      }
      if (id === undefined) continue;
      const key = `${input.type}:${id}`;
      if (seen.has(key)) errors.push({ path, message: 'names a principal already listed' });
      seen.add(key);
      entries.push({ principal: { type: input.type, id }, permBits: ROLE_BITS[input.role] });
    }
    if (errors.length > 0) throw invalidPermissions(errors);
    return entries;
  };

  return {
    async get(caller, name) {
      const record = await shareable(caller, name);
      return view(record, await repos.acl.listForResource(record.id));
    },

    async set(caller, name, input) {
      const record = await shareable(caller, name);
      const current = await repos.acl.listForResource(record.id);
      const requested = (await resolvePrincipals(input.principals)).filter(
        (e) => !(e.principal.type === 'user' && e.principal.id === record.ownerId),
      );
      const publicBits =
        input.public === undefined
          ? publicBitsOf(current)
          : input.public === null
            ? 0
            : ROLE_BITS[input.public];
      const next: AclReplacementEntry[] = [
        { principal: { type: 'user', id: record.ownerId }, permBits: ALL_BITS },
        ...requested,
        ...(publicBits === 0 ? [] : [{ principal: { type: 'public' as const }, permBits: publicBits }]),
      ];
      // DESIGN.md §7: sharing with users and groups needs SHARE, with everyone SHARE_PUBLIC.
      if (grantsKey(next, record.ownerId) !== grantsKey(current, record.ownerId))
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
              principals: requested.map(
                (e) =>
                  `${e.principal.type}:${e.principal.type === 'public' ? '' : e.principal.id}:${roleOfBits(e.permBits) ?? ''}`,
              ),
            },
          }),
        );
        return entries;
      });

      // AZ-11: whoever can no longer see the server loses their connection now, not at idle time.
      const before = current.flatMap((e) => (e.principal.type === 'user' ? [e.principal.id] : []));
      const after = new Set(requested.flatMap((e) => (e.principal.type === 'user' ? [e.principal.id] : [])));
      await deps.connections.closeUsers(
        record.name,
        async (userId) => {
          const user = await repos.users.findById(userId);
          if (user === null) return true;
          return ((await access.bitsFor(record, { userId, role: user.role })) & aclBits.VIEW) === 0;
        },
        before.filter((id) => id !== record.ownerId && !after.has(id)),
      );
      return view(record, saved);
    },
  };
}
