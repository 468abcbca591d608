import type { Clock } from '../core/index.js';
import { HubError } from '../errors/index.js';
import {
  resolveExternalAccount,
  type ExternalAccountStore,
  type ExternalIdentity,
  type UserRecord,
} from './external-accounts.js';
import {
  permissionsFor,
  type McpServerPermissions,
  type Role,
  type RolePermissionTable,
} from './permissions.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords.js';
import { SHARED_SECRET_ISSUER, type TokenClaims, type TokenService } from './tokens.js';

/** Who is making a request, resolved from a verified token and the user directory. */
export interface Identity {
  userId: string;
  email: string;
  role: Role;
  permissions: McpServerPermissions;
  /** The external identity the request's token named; absent for the hub's own tokens. */
  external?: ExternalIdentity;
  /**
   * The id the chat application knows this user by, for `{{LIBRECHAT_USER_ID}}` and YAML `access.users`:
   * the subject of the user's identity from the app that shares `JWT_SECRET`, else the hub's own id.
   */
  appUserId: string;
}

/** Lookups and writes identity needs from the user store (the store's user repository satisfies it). */
export interface UserDirectory extends ExternalAccountStore {
  /** The external identities of each of the users, by user id (a user without any is absent). */
  identitiesOf(userIds: readonly string[]): Promise<Map<string, ExternalIdentity[]>>;
  /** Sets the password hash and raises the token epoch; null when the user does not exist. */
  setPassword(id: string, passwordHash: string): Promise<UserRecord | null>;
}

/** Resolves bearer tokens to identities and logs local users in. */
export interface IdentityService {
  /**
   * Verifies the token and returns the caller as the directory has them now. Throws
   * `HUB_ERR_INVALID_TOKEN` (bad, expired or superseded token, or a hub token for a user that no
   * longer exists) and `HUB_ERR_ACCOUNT_DISABLED`.
   */
  authenticate(token: string): Promise<Identity>;
  /** Email + password → a signed token; throws `HUB_ERR_INVALID_CREDENTIALS` or `HUB_ERR_ACCOUNT_DISABLED`. */
  login(email: string, password: string): Promise<{ token: string; expiresIn: number; identity: Identity }>;
  /**
   * Issues a token for an existing user at their current token epoch (CLI `token`). Throws
   * `HUB_ERR_USER_NOT_FOUND` or `HUB_ERR_ACCOUNT_DISABLED`.
   */
  issueToken(user: { id: string }, ttlSeconds?: number): Promise<string>;
  /**
   * Replaces the user's password after checking the current one, which ends every earlier token
   * of theirs; returns a fresh token. Throws `HUB_ERR_INVALID_CREDENTIALS`.
   */
  changePassword(
    userId: string,
    currentPassword: string,
    newPassword: string,
  ): Promise<{ token: string; expiresIn: number }>;
  /**
   * The identity of a known user, for work done on their behalf without a request (a reconnect
   * after an OAuth callback). Null for a disabled user unless `includeDisabled` (cleaning up after
   * an account that is being removed).
   */
  identityOf(userId: string, options?: { includeDisabled?: boolean }): Promise<Identity | null>;
  /** Drops this process's cached copy of a user (after a change to their account). */
  forget(userId: string): void;
}

/** Default lifetime of a login token. */
export const DEFAULT_TOKEN_TTL_SECONDS = 24 * 60 * 60;
const CACHE_MAX = 10_000;

/** Options of {@link createIdentityService}. */
export interface IdentityServiceOptions {
  tokens: TokenService;
  users: UserDirectory;
  roles: RolePermissionTable;
  clock: Clock;
  /**
   * Reuse of users read from the directory; without it (the default) a user is read on every
   * request. Only for where every change to a user reaches {@link IdentityService.forget} on every
   * instance (the hub does so over the shared KV): `active` says whether that is so right now, and
   * `ttlMs` bounds how long a lost notice lasts.
   */
  cache?: AccountCacheOption | undefined;
  /** Issuers whose verified email may link an external identity to the local account with that email. */
  emailLinkIssuers?: readonly string[] | undefined;
  /** Called after a user's account changed here (a password change), so other instances hear of it. */
  onUserChanged?: ((userId: string) => void) | undefined;
}

/** How the identity service may reuse accounts it read (see {@link IdentityServiceOptions.cache}). */
export interface AccountCacheOption {
  ttlMs: number;
  /** Whether every change made by this process reaches {@link IdentityService.forget} right now. */
  active: () => boolean;
  /**
   * Changes whenever the directory may have been written by someone who calls no `forget` here
   * (another process on the same database file); a change drops every cached account.
   */
  outsideWrites?: (() => number) | undefined;
}

/** Creates the identity service over a token service and the user directory. */
export function createIdentityService(deps: IdentityServiceOptions): IdentityService {
  const linkIssuers = new Set(deps.emailLinkIssuers ?? []);
  /** Keyed by how a token names its user: `id:<user id>` or `ext:<issuer>\n<subject>`. */
  const cache = new Map<string, { user: UserRecord; expiresAt: number }>();

  const toIdentity = (user: UserRecord, external?: ExternalIdentity, appSubject?: string): Identity => ({
    userId: user.id,
    email: user.email,
    role: user.role,
    permissions: permissionsFor(user.role, deps.roles),
    ...(external ? { external } : {}),
    appUserId: external?.issuer === SHARED_SECRET_ISSUER ? external.subject : (appSubject ?? user.id),
  });

  /** The last value of `cache.outsideWrites` seen. */
  let outsideWrites: number | undefined;

  async function cached(key: string, load: () => Promise<UserRecord | null>): Promise<UserRecord | null> {
    if (!deps.cache?.active()) return load();
    const written = deps.cache.outsideWrites?.();
    if (written !== outsideWrites) {
      cache.clear();
      outsideWrites = written;
    }
    const now = deps.clock.now();
    const hit = cache.get(key);
    if (hit && hit.expiresAt > now) return hit.user;
    const user = await load();
    if (user === null) return null;
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(key, { user, expiresAt: now + deps.cache.ttlMs });
    return user;
  }

  async function userOf(claims: TokenClaims): Promise<UserRecord> {
    if (claims.kind === 'hub') {
      // A hub token names a hub account; when that account is gone the token is dead. It never
      // brings the account back (V-11), and an earlier epoch means it was superseded (V-12).
      const user = await cached(`id:${claims.userId}`, () => deps.users.findById(claims.userId));
      if (user === null) throw new HubError('HUB_ERR_INVALID_TOKEN');
      if (user.disabledAt !== null) throw new HubError('HUB_ERR_ACCOUNT_DISABLED');
      if (user.tokenEpoch !== claims.epoch) throw new HubError('HUB_ERR_INVALID_TOKEN');
      return user;
    }
    const user = await cached(`ext:${claims.issuer}\n${claims.subject}`, () =>
      resolveExternalAccount(deps.users, claims, linkIssuers),
    );
    if (user === null) throw new HubError('HUB_ERR_INVALID_TOKEN');
    if (user.disabledAt !== null) throw new HubError('HUB_ERR_ACCOUNT_DISABLED');
    return user;
  }

  const sign = (user: UserRecord, ttlSeconds: number): Promise<string> =>
    deps.tokens.sign({ userId: user.id, epoch: user.tokenEpoch }, ttlSeconds);

  /** The local account behind an email and password, or `HUB_ERR_INVALID_CREDENTIALS` in constant-ish time. */
  async function checkPassword(user: UserRecord | null, password: string): Promise<UserRecord> {
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    if (!user || !user.passwordHash || !ok) throw new HubError('HUB_ERR_INVALID_CREDENTIALS');
    // Only someone who knows the password learns that the account is disabled.
    if (user.disabledAt !== null) throw new HubError('HUB_ERR_ACCOUNT_DISABLED');
    return user;
  }

  function forget(userId: string): void {
    for (const [key, entry] of cache) if (entry.user.id === userId) cache.delete(key);
  }

  return {
    async authenticate(token) {
      const claims = await deps.tokens.verify(token);
      const user = await userOf(claims);
      return toIdentity(
        user,
        claims.kind === 'external' ? { issuer: claims.issuer, subject: claims.subject } : undefined,
      );
    },
    async login(email, password) {
      const user = await checkPassword(await deps.users.findByEmail(email), password);
      const token = await sign(user, DEFAULT_TOKEN_TTL_SECONDS);
      return { token, expiresIn: DEFAULT_TOKEN_TTL_SECONDS, identity: toIdentity(user) };
    },
    async issueToken(user, ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS) {
      // Read now, not taken from the caller: a stale record would carry a stale epoch.
      const current = await deps.users.findById(user.id);
      if (current === null) throw new HubError('HUB_ERR_USER_NOT_FOUND');
      if (current.disabledAt !== null) throw new HubError('HUB_ERR_ACCOUNT_DISABLED');
      return sign(current, ttlSeconds);
    },
    async changePassword(userId, currentPassword, newPassword) {
      await checkPassword(await deps.users.findById(userId), currentPassword);
      const updated = await deps.users.setPassword(userId, await hashPassword(newPassword));
      if (updated === null) throw new HubError('HUB_ERR_INVALID_CREDENTIALS');
      forget(userId);
      deps.onUserChanged?.(userId);
      return { token: await sign(updated, DEFAULT_TOKEN_TTL_SECONDS), expiresIn: DEFAULT_TOKEN_TTL_SECONDS };
    },
    async identityOf(userId, options) {
      const user = await deps.users.findById(userId);
      if (!user || (user.disabledAt !== null && options?.includeDisabled !== true)) return null;
      // Work done without a request (a reconnect after OAuth) names the user as their requests do.
      const identities = (await deps.users.identitiesOf([userId])).get(userId) ?? [];
      const app = identities.find((i) => i.issuer === SHARED_SECRET_ISSUER);
      return toIdentity(user, undefined, app?.subject);
    },
    forget,
  };
}
