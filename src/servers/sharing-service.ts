import type { Identity } from '../auth/index.js';
import { HubError } from '../errors/index.js';
import type { RegisteredServer } from '../registry/index.js';
import {
  aclBits,
  type AclEntry,
  type AclPrincipal,
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
}

/** The 400 for a permissions body that names unknown or repeated principals. */
function invalidPermissions(errors: { path: string; message: string }[]): HubError {
  const first = errors[0]?.message ?? 'invalid';
  return new HubError('HUB_ERR_VALIDATION', {
    message: errors.length === 1 ? `Invalid permissions: ${first}` : 'Invalid permissions',
    details: { errors },
  });
}

/** An address as accounts store it: compared without regard to case. */
function normaliseAddress(email: string): string {
  return email.toLowerCase();
}

/** A shape check only, the same for every address: whether an account has it is never asked here. */
const ADDRESS_SHAPE = /^[^\s@]+@[^\s@]+$/;

/** A principal as it appears in logs and the audit trail: type and id (an address for `address`). */
function principalText(principal: AclPrincipal): string {
  if (principal.type === 'public') return 'public:';
  return principal.type === 'address' ? `address:${principal.email}` : `${principal.type}:${principal.id}`;
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
      if (principal.type === 'group') groups.push({ type: 'group', id: principal.id, role });
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
   * The ACL entries for the requested grants. A user named by an address with no account becomes an
   * `address` entry, which grants nothing, so the answer is the same either way (V-13); every
   * unknown user id, group id (V-14) or group name is named in the 400.
   */
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
      const principal = await principalOf(input, path, errors);
      if (principal === null) continue;
      // A user named twice, by id and by address, is one key: the address of the account.
      const key = principal.type === 'user' ? `user:${principal.id}` : principalText(principal);
      if (seen.has(key)) errors.push({ path, message: 'names a principal already listed' });
      seen.add(key);
      entries.push({ principal, permBits: ROLE_BITS[input.role] });
    }
    if (errors.length > 0) throw invalidPermissions(errors);
    return entries;
  };

  /** The principal one input names; null (with the reason in `errors`) when it names none. */
  const principalOf = async (
    input: PrincipalInput,
    path: string,
    errors: { path: string; message: string }[],
  ): Promise<AclPrincipal | null> => {
    if (input.type === 'user' && input.email !== undefined) {
      const address = normaliseAddress(input.email);
      if (!ADDRESS_SHAPE.test(address)) {
        errors.push({ path, message: 'email is not an e-mail address' });
        return null;
      }
      const user = await repos.users.findByEmail(address);
      return user === null ? { type: 'address', email: address } : { type: 'user', id: user.id };
    }
    if (input.type === 'user') {
      // Ids are random and never guessed, so naming an unknown one tells nobody anything.
      const user = await repos.users.findById(input.id ?? '');
      if (user === null) errors.push({ path, message: `unknown user ${JSON.stringify(input.id)}` });
      return user === null ? null : { type: 'user', id: user.id };
    }
    const group =
      input.name !== undefined
        ? await repos.groups.findByName(input.name)
        : await repos.groups.findById(input.id ?? '');
    if (group === null) {
      errors.push({ path, message: `unknown group ${JSON.stringify(input.name ?? input.id)}` });
      return null;
    }
    return { type: 'group', id: group.id };
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
              principals: requested.map(
                (e) => `${principalText(e.principal)}:${roleOfBits(e.permBits) ?? ''}`,
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
