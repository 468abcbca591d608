import { hashPassword, type Identity } from '../auth/index.js';
import { HubError } from '../errors/index.js';
import type {
  ExternalIdentity,
  RemovedUser,
  Repositories,
  UserOrigin,
  UserRecord,
  UserRole,
} from '../store/index.js';
import type { BeforeRemoval } from './removal-cleanup.js';
import type { UserChange } from './user-changes.js';

/**
 * Who asks for an account change: an admin through the API, or `null` for the operator at the
 * command line (who has the database and the secrets, and so every right).
 */
export type AccountsActor = Identity | null;

/** An account as administrators see it: never a password hash. */
export interface AccountView {
  id: string;
  email: string;
  role: UserRole;
  disabled: boolean;
  /** When the account was disabled; null while it is enabled. */
  disabledAt: number | null;
  /** True when the account can log in with a password. */
  hasPassword: boolean;
  origin: UserOrigin;
  /** The external identities that sign in to this account. */
  identities: ExternalIdentity[];
  createdAt: number;
  updatedAt: number;
}

/** What an administrator may change about an account. */
export interface AccountChanges {
  role?: UserRole | undefined;
  disabled?: boolean | undefined;
}

/** Listing options. */
export interface AccountListOptions {
  limit?: number | undefined;
  after?: string | undefined;
  /** Only the account with this email (any case). */
  email?: string | undefined;
}

/** Shortest password accepted. */
export const MIN_PASSWORD_LENGTH = 8;

/** Administration of accounts: role, disabled state, password, removal. Admins only (403 otherwise). */
export interface AccountsService {
  list(
    actor: AccountsActor,
    options?: AccountListOptions,
  ): Promise<{ users: AccountView[]; nextCursor: string | null }>;
  /** Throws `HUB_ERR_USER_NOT_FOUND`. */
  get(actor: AccountsActor, userId: string): Promise<AccountView>;
  /** By email, else by id (the command line names users either way); throws `HUB_ERR_USER_NOT_FOUND`. */
  find(actor: AccountsActor, emailOrId: string): Promise<AccountView>;
  /**
   * Changes role and/or disabled state; disabling ends the user's hub tokens, live connections and
   * every MCP client's grants and tokens at the hub's authorization server.
   * An admin cannot change their own account this way (`HUB_ERR_CONFLICT`): that is how a hub loses
   * its last admin by mistake.
   */
  update(actor: AccountsActor, userId: string, changes: AccountChanges): Promise<AccountView>;
  /** Sets a new password, which ends the user's earlier hub tokens and MCP client authorizations. */
  setPassword(actor: AccountsActor, userId: string, password: string): Promise<AccountView>;
  /**
   * Deletes the account with its credentials, grants, group memberships and MCP client
   * authorizations, and closes its live connections. Refused (`HUB_ERR_CONFLICT`) while the user owns servers. `beforeRemove`, when
   * given, runs first (OAuth tokens revoked at their authorization servers, pending flows cancelled).
   */
  remove(actor: AccountsActor, userId: string): Promise<RemovedUser & { id: string; email: string }>;
  /**
   * Sets the role an identity provider's groups give a user as they sign in (its `adminGroups`),
   * audited as that provider's doing and announced like any role change; a no-op when it is the role
   * they have. Throws `HUB_ERR_USER_NOT_FOUND`.
   */
  applyProviderRole(userId: string, role: UserRole, provider: string): Promise<void>;
}

/** Creates the service. `announce` tells every instance (caches, live connections) of a change. */
export function createAccountsService(deps: {
  repos: Pick<Repositories, 'users' | 'audit' | 'oauthServer'>;
  announce: (change: UserChange) => Promise<void>;
  /** Runs before a user's rows are deleted; bounded in time and never throws (see `removalCleanup`). */
  beforeRemove?: BeforeRemoval | undefined;
}): AccountsService {
  const { users, audit, oauthServer } = deps.repos;

  function assertAdmin(actor: AccountsActor): void {
    if (actor !== null && actor.role !== 'ADMIN') throw new HubError('HUB_ERR_FORBIDDEN');
  }
  function assertNotSelf(actor: AccountsActor, userId: string): void {
    if (actor !== null && actor.userId === userId) {
      throw new HubError('HUB_ERR_CONFLICT', {
        message:
          'You cannot change your own account here: ask another administrator, or use the command line',
      });
    }
  }
  async function existing(userId: string): Promise<UserRecord> {
    const user = await users.findById(userId);
    if (user === null) throw new HubError('HUB_ERR_USER_NOT_FOUND');
    return user;
  }
  async function views(records: UserRecord[]): Promise<AccountView[]> {
    const identities = await users.identitiesOf(records.map((u) => u.id));
    return records.map((u) => toView(u, identities.get(u.id) ?? []));
  }
  const view = async (record: UserRecord): Promise<AccountView> =>
    (await views([record]))[0] ?? toView(record, []);
  const record = (
    actor: AccountsActor,
    action: string,
    userId: string,
    details: Record<string, string> = {},
  ) =>
    audit.record({
      actorId: actor?.userId ?? null,
      action,
      targetType: 'user',
      targetId: userId,
      details: { ...details, via: actor === null ? 'cli' : 'api' },
    });

  return {
    async list(actor, options = {}) {
      assertAdmin(actor);
      if (options.email !== undefined) {
        const one = await users.findByEmail(options.email);
        return { users: one === null ? [] : await views([one]), nextCursor: null };
      }
      const page = await users.listPage({ limit: options.limit, after: options.after });
      return { users: await views(page.users), nextCursor: page.nextCursor };
    },
    async get(actor, userId) {
      assertAdmin(actor);
      return view(await existing(userId));
    },
    async find(actor, emailOrId) {
      assertAdmin(actor);
      const user = (await users.findByEmail(emailOrId)) ?? (await users.findById(emailOrId));
      if (user === null) throw new HubError('HUB_ERR_USER_NOT_FOUND');
      return view(user);
    },
    async update(actor, userId, changes) {
      assertAdmin(actor);
      let user = await existing(userId);
      assertNotSelf(actor, userId);
      if (changes.role !== undefined && changes.role !== user.role) {
        // The token carries no role: the new one applies from the next request, without logging anyone out.
        user = (await users.setRole(userId, changes.role)) ?? user;
        await record(actor, 'user.set_role', userId, { role: changes.role });
        await deps.announce({ userId, change: 'role' });
      }
      if (changes.disabled !== undefined && changes.disabled !== (user.disabledAt !== null)) {
        const updated = await users.setDisabled(userId, changes.disabled);
        if (updated === null) throw new HubError('HUB_ERR_USER_NOT_FOUND');
        user = updated;
        await record(actor, changes.disabled ? 'user.disable' : 'user.enable', userId);
        // Re-enabling must not bring back what an MCP client held before (AZ-12).
        if (changes.disabled) await oauthServer.deleteForAccount(userId);
        await deps.announce({ userId, change: changes.disabled ? 'disabled' : 'enabled' });
      }
      return view(user);
    },
    async setPassword(actor, userId, password) {
      assertAdmin(actor);
      if (password.length < MIN_PASSWORD_LENGTH) {
        throw new HubError('HUB_ERR_VALIDATION', {
          message: `The password must be at least ${MIN_PASSWORD_LENGTH} characters`,
        });
      }
      await existing(userId);
      const updated = await users.setPassword(userId, await hashPassword(password));
      if (updated === null) throw new HubError('HUB_ERR_USER_NOT_FOUND');
      await record(actor, 'user.set_password', userId);
      await oauthServer.deleteForAccount(userId);
      await deps.announce({ userId, change: 'password' });
      return view(updated);
    },
    async remove(actor, userId) {
      assertAdmin(actor);
      const user = await existing(userId);
      assertNotSelf(actor, userId);
      // Before the rows go: revocation needs the tokens, which the removal deletes.
      await deps.beforeRemove?.(userId);
      const removed = await users.remove(userId);
      if (removed === null) throw new HubError('HUB_ERR_USER_NOT_FOUND');
      await oauthServer.deleteForAccount(userId);
      await record(actor, 'user.remove', userId, { email: user.email });
      await deps.announce({ userId, change: 'removed' });
      return { id: user.id, email: user.email, ...removed };
    },
    async applyProviderRole(userId, role, provider) {
      const user = await existing(userId);
      if (user.role === role) return;
      await users.setRole(userId, role);
      await audit.record({
        actorId: null,
        action: 'user.set_role',
        targetType: 'user',
        targetId: userId,
        details: { role, via: 'sso', provider },
      });
      await deps.announce({ userId, change: 'role' });
    },
  };
}

function toView(user: UserRecord, identities: ExternalIdentity[]): AccountView {
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    disabled: user.disabledAt !== null,
    disabledAt: user.disabledAt,
    hasPassword: user.passwordHash !== null,
    origin: user.origin,
    identities,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}
