import type { Logger } from '../observability/index.js';
import type { ToolCache } from '../tools/index.js';
import { allProfileKeys, isKeyOfServer, parseConnectionKey, type ServerChange } from '../upstreams/index.js';

/** The part of the connection pool this feature uses; `ConnectionPool` satisfies it. */
export interface PoolHandle {
  keys(): string[];
  disconnectWhere(predicate: (key: string) => boolean): Promise<void>;
}

/**
 * Which users' tool catalogs a change may have touched: the listed ones, or (null) anyone, as when
 * a server shared with a group or everyone changes.
 */
export interface CatalogChange {
  serverName: string;
  users: string[] | null;
}

/** The KV channel on which catalog changes reach every instance's MCP sessions. */
export const CATALOG_CHANNEL = 'servers:catalog-changed';

/** A {@link CatalogChange} read back from {@link CATALOG_CHANNEL}; null for anything malformed. */
export function parseCatalogChange(message: string): CatalogChange | null {
  try {
    const value = JSON.parse(message) as { serverName?: unknown; users?: unknown }; // checked field by field
    if (typeof value.serverName !== 'string') return null;
    if (value.users === null) return { serverName: value.serverName, users: null };
    if (!Array.isArray(value.users) || !value.users.every((u) => typeof u === 'string')) return null;
    return { serverName: value.serverName, users: value.users };
  } catch {
    return null;
  }
}

/**
 * Closes live connections and drops cached tools when a server changes, goes, or is unshared, on
 * this instance and (through {@link SERVER_CHANGES_CHANNEL}) on every other, and announces every
 * change to the catalog listeners (the MCP endpoint's `tools/list_changed`).
 */
export interface ServerConnections {
  /** A server was created: only its owner can see it yet. */
  added(serverName: string, ownerId: string): void;
  /**
   * Every connection to the server and their cached tools, here and on every instance, and the
   * cached tools of `alsoUsers` (users known to have used it: the owner and the ACL's users) and of
   * the shared keys, which no instance may hold a connection for any more.
   */
  closeServer(serverName: string, alsoUsers: readonly string[]): Promise<void>;
  /**
   * The connections (and cached tools) of every user who can no longer see the server, here and on
   * every instance, plus the cached tools of `alsoUsers`.
   */
  closeUsers(serverName: string, alsoUsers: readonly string[]): Promise<void>;
  /** Applies a change announced by any instance (this one included) to this instance's pool. */
  apply(change: ServerChange): Promise<void>;
}

/** The pool keys (every profile) of one user's connections to a user-level server. */
function userKeys(userId: string, serverName: string): string[] {
  return allProfileKeys('user', serverName, userId);
}

/** The user id of a user-level key of the named server, or null for any other key. */
function userOf(key: string, serverName: string): string | null {
  const parts = parseConnectionKey(key);
  return parts?.serverName === serverName ? parts.userId : null;
}

/** What {@link createServerConnections} is built from. */
export interface ServerConnectionsDeps {
  pool: PoolHandle;
  tools: Pick<ToolCache, 'invalidate'>;
  logger: Logger;
  /** True when the user may no longer see the server (read from the database, as a request would). */
  lostAccess: (serverName: string, userId: string) => Promise<boolean>;
  /** Tells every instance (this one too) of a change; without it, only this instance acts. */
  publish?: ((change: ServerChange) => Promise<void>) | undefined;
  /** Hears of every change to who sees which server; never awaited, must not throw. */
  onCatalogChanged?: ((change: CatalogChange) => void) | undefined;
}

/**
 * Builds {@link ServerConnections}. Tool lists live in the shared KV; live connections are per
 * instance, so each instance closes its own when it hears the change (within a second), and
 * every request re-checks access in the registry meanwhile.
 */
export function createServerConnections(deps: ServerConnectionsDeps): ServerConnections {
  const announce = (change: CatalogChange): void => deps.onCatalogChanged?.(change);
  const forget = async (keys: Iterable<string>): Promise<void> => {
    const results = await Promise.allSettled([...new Set(keys)].map((key) => deps.tools.invalidate(key)));
    for (const result of results) {
      if (result.status === 'rejected') {
        deps.logger.warn({ err: result.reason }, 'could not drop a cached tool list');
      }
    }
  };
  /** The change reaches the other instances at best: the change itself already happened. */
  const tellOthers = async (change: ServerChange): Promise<void> => {
    try {
      await deps.publish?.(change);
    } catch (err) {
      deps.logger.warn(
        { err, server: change.serverName },
        'could not announce a server change to other instances',
      );
    }
  };

  /** This instance's connections to the server, closed, and their cached tools dropped. */
  const closeHere = async (serverName: string): Promise<void> => {
    const keys = deps.pool.keys().filter((key) => isKeyOfServer(key, serverName));
    await deps.pool.disconnectWhere((key) => keys.includes(key));
    await forget(keys);
  };

  /** This instance's connections of users who lost the server, closed, and their cached tools dropped. */
  const closeLostHere = async (serverName: string): Promise<void> => {
    const verdicts = new Map<string, Promise<boolean>>();
    const lost = (userId: string): Promise<boolean> => {
      let verdict = verdicts.get(userId);
      if (verdict === undefined) {
        verdict = deps.lostAccess(serverName, userId);
        verdicts.set(userId, verdict);
      }
      return verdict;
    };
    const closing = new Set<string>();
    for (const key of deps.pool.keys()) {
      const userId = userOf(key, serverName);
      if (userId !== null && (await lost(userId))) closing.add(key);
    }
    await deps.pool.disconnectWhere((key) => closing.has(key));
    await forget(closing);
  };

  return {
    added(serverName, ownerId) {
      announce({ serverName, users: [ownerId] });
    },

    async closeServer(serverName, alsoUsers) {
      await closeHere(serverName);
      await forget([
        ...allProfileKeys('app', serverName, ''),
        ...alsoUsers.flatMap((id) => userKeys(id, serverName)),
      ]);
      announce({ serverName, users: null });
      await tellOthers({ serverName, change: 'closed' });
    },

    async closeUsers(serverName, alsoUsers) {
      await closeLostHere(serverName);
      await forget(alsoUsers.flatMap((id) => userKeys(id, serverName)));
      // Sharing changed: some may have lost the server and others (a user, a group, everyone) gained it.
      announce({ serverName, users: null });
      await tellOthers({ serverName, change: 'access' });
    },

    async apply(change) {
      if (change.change === 'closed') await closeHere(change.serverName);
      else await closeLostHere(change.serverName);
    },
  };
}
