import type { Identity } from '../auth/index.js';
import { connectionScope, needsOAuth, type RegisteredServer } from '../registry/index.js';
import { SYSTEM_USER_ID } from '../store/index.js';
import {
  allProfileKeys,
  connectionKeyFor,
  type ConnectionProfile,
  type ConnectionScope,
} from './connection-keys.js';
import type { LearnedOAuth } from './learned-oauth.js';
import type { ProfileSharing } from './profile-sharing.js';

/**
 * Who a server's connections belong to and how they are keyed: one shared by everyone (`app`) or
 * one per user, whose tokens they carry, and which pool key a caller's connection of a profile has.
 */
export class ServerScopes {
  constructor(
    /** Servers that answered 401 though their config did not say OAuth, by identity (not name). */
    private readonly learnedOAuth: Pick<LearnedOAuth, 'has'>,
    /** App-level stdio servers that answer REST and /mcp alike share one process. */
    private readonly sharing: Pick<ProfileSharing, 'profileFor'>,
  ) {}

  /** True when the server is protected by OAuth: by configuration, or learned from a 401 challenge. */
  requiresOAuth(server: RegisteredServer): boolean {
    return needsOAuth(server.config) || this.learnedOAuth.has(server);
  }

  /** An admin's shared authorization (`sharedOAuth`) makes an OAuth server app-level again. */
  isShared(server: RegisteredServer): boolean {
    return server.source === 'yaml' && server.config.sharedOAuth === true && this.requiresOAuth(server);
  }

  scopeOf(server: RegisteredServer): ConnectionScope {
    if (this.isShared(server))
      return connectionScope({ ...server.config, requiresOAuth: false, oauth: undefined });
    return server.source === 'db' || this.requiresOAuth(server) ? 'user' : connectionScope(server.config);
  }

  /** Whose tokens a connection uses: the caller's own, or the shared `system` set. */
  tokenOwner(server: RegisteredServer, caller: Pick<Identity, 'userId'>): string {
    return this.isShared(server) ? SYSTEM_USER_ID : caller.userId;
  }

  profileOf(server: RegisteredServer, profile: ConnectionProfile): ConnectionProfile {
    return this.sharing.profileFor(server, this.scopeOf(server) === 'app', profile);
  }

  keyFor(
    caller: Pick<Identity, 'userId'>,
    server: RegisteredServer,
    profile: ConnectionProfile = 'rest',
  ): string {
    return connectionKeyFor(
      this.scopeOf(server),
      server.name,
      caller.userId,
      this.profileOf(server, profile),
    );
  }

  /**
   * What closing or forgetting the caller's connection covers: their keys of every profile, or
   * for an app-level server the shared ones.
   */
  keysOf(caller: Pick<Identity, 'userId'>, server: RegisteredServer): string[] {
    return allProfileKeys(this.scopeOf(server), server.name, caller.userId);
  }

  /** Whether the caller may close the server's connections: their own, or any for an admin. */
  mayTouch(caller: Identity, server: RegisteredServer): boolean {
    return this.scopeOf(server) === 'user' || caller.role === 'ADMIN';
  }
}
