import type { Clock } from '../core/index.js';
import { HubError } from '../errors/index.js';
import {
  permissionsFor,
  type McpServerPermissions,
  type Role,
  type RolePermissionTable,
} from './permissions.js';
import { dummyPasswordHash, verifyPassword } from './passwords.js';
import type { TokenService } from './tokens.js';

/** Who is making a request, resolved from a verified token and the user directory. */
export interface Identity {
  userId: string;
  email: string;
  role: Role;
  permissions: McpServerPermissions;
}

/** The user fields identity needs; the store's user repository satisfies it. */
export interface UserRecord {
  id: string;
  email: string;
  role: Role;
  passwordHash: string | null;
}

/** Lookups identity needs from the user store. */
export interface UserDirectory {
  findById(id: string): Promise<UserRecord | null>;
  findByEmail(email: string): Promise<UserRecord | null>;
  /** Records a user first seen through an external token (no local password). */
  upsertExternal(user: { id: string; email: string }): Promise<UserRecord>;
}

/** Resolves bearer tokens to identities and logs local users in. */
export interface IdentityService {
  /** Verifies the token and returns the caller; throws `HUB_ERR_INVALID_TOKEN`. */
  authenticate(token: string): Promise<Identity>;
  /** Email + password → a signed token; throws `HUB_ERR_INVALID_CREDENTIALS`. */
  login(email: string, password: string): Promise<{ token: string; expiresIn: number; identity: Identity }>;
  /** Issues a token for an existing user (CLI `token`). */
  issueToken(user: UserRecord, ttlSeconds?: number): Promise<string>;
  /** The identity of a known user (work done on their behalf without a request, e.g. after an OAuth callback). */
  identityOf(userId: string): Promise<Identity | null>;
  /** Drops a cached identity (after a role change). */
  forget(userId: string): void;
}

/** Default lifetime of a login token. */
export const DEFAULT_TOKEN_TTL_SECONDS = 24 * 60 * 60;
/** How long a resolved user is reused before the directory is read again (keeps the DB off the hot path). */
const CACHE_TTL_MS = 30_000;
const CACHE_MAX = 10_000;

/** Creates the identity service over a token service and the user directory. */
export function createIdentityService(deps: {
  tokens: TokenService;
  users: UserDirectory;
  roles: RolePermissionTable;
  clock: Clock;
}): IdentityService {
  const cache = new Map<string, { user: UserRecord; expiresAt: number }>();

  const toIdentity = (user: UserRecord): Identity => ({
    userId: user.id,
    email: user.email,
    role: user.role,
    permissions: permissionsFor(user.role, deps.roles),
  });

  async function resolveUser(userId: string, email: string | undefined): Promise<UserRecord> {
    const now = deps.clock.now();
    const hit = cache.get(userId);
    if (hit && hit.expiresAt > now) return hit.user;
    let user = await deps.users.findById(userId);
    // A token from the trusted issuer (LibreChat shares JWT_SECRET) names a user the hub has not seen yet.
    user ??= await deps.users.upsertExternal({ id: userId, email: email ?? `${userId}@users.invalid` });
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(userId, { user, expiresAt: now + CACHE_TTL_MS });
    return user;
  }

  return {
    async authenticate(token) {
      const claims = await deps.tokens.verify(token);
      return toIdentity(await resolveUser(claims.userId, claims.email));
    },
    async login(email, password) {
      const user = await deps.users.findByEmail(email);
      const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
      if (!user || !user.passwordHash || !ok) throw new HubError('HUB_ERR_INVALID_CREDENTIALS');
      const token = await deps.tokens.sign({ userId: user.id, email: user.email }, DEFAULT_TOKEN_TTL_SECONDS);
      return { token, expiresIn: DEFAULT_TOKEN_TTL_SECONDS, identity: toIdentity(user) };
    },
    issueToken(user, ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS) {
      return deps.tokens.sign({ userId: user.id, email: user.email }, ttlSeconds);
    },
    async identityOf(userId) {
      const user = await deps.users.findById(userId);
      return user ? toIdentity(user) : null;
    },
    forget(userId) {
      cache.delete(userId);
    },
  };
}
