import type { Logger } from '../observability/index.js';
import type { ToolCache } from '../tools/index.js';
import { allProfileKeys, isKeyOfServer, parseConnectionKey } from '../upstreams/index.js';

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
 * Closes live connections and drops cached tools when a server changes, goes, or is unshared, and
 * announces every change to the catalog listeners (the MCP endpoint's `tools/list_changed`).
 */
export interface ServerConnections {
  /** A server was created: only its owner can see it yet. */
  added(serverName: string, ownerId: string): void;
  /**
   * Every connection to the server on this instance, and the cached tools of those keys and of
   * `alsoUsers` (users known to have used it: the owner and the ACL's users).
   */
  closeServer(serverName: string, alsoUsers: readonly string[]): Promise<void>;
  /** The connections (and cached tools) of the users `lostAccess` picks, plus those of `alsoUsers`. */
  closeUsers(
    serverName: string,
    lostAccess: (userId: string) => Promise<boolean>,
    alsoUsers: readonly string[],
  ): Promise<void>;
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

/**
 * Builds {@link ServerConnections}. Tool lists live in the shared KV, so dropping them reaches every
 * instance; live connections are per instance, and those on other instances stop being used at
 * once because every request re-checks access in the registry.
 */
export function createServerConnections(deps: {
  pool: PoolHandle;
  tools: Pick<ToolCache, 'invalidate'>;
  logger: Logger;
  /** Hears of every change to who sees which server; never awaited, must not throw. */
  onCatalogChanged?: (change: CatalogChange) => void;
}): ServerConnections {
  const announce = (change: CatalogChange): void => deps.onCatalogChanged?.(change);
  const forget = async (keys: Iterable<string>): Promise<void> => {
    const results = await Promise.allSettled([...new Set(keys)].map((key) => deps.tools.invalidate(key)));
    for (const result of results) {
      if (result.status === 'rejected') {
        deps.logger.warn({ err: result.reason }, 'could not drop a cached tool list');
      }
    }
  };

  return {
    added(serverName, ownerId) {
      announce({ serverName, users: [ownerId] });
    },

    async closeServer(serverName, alsoUsers) {
      const keys = deps.pool.keys().filter((key) => isKeyOfServer(key, serverName));
      await deps.pool.disconnectWhere((key) => isKeyOfServer(key, serverName));
      await forget([
        ...keys,
        ...allProfileKeys('app', serverName, ''),
        ...alsoUsers.flatMap((id) => userKeys(id, serverName)),
      ]);
      announce({ serverName, users: null });
    },

    async closeUsers(serverName, lostAccess, alsoUsers) {
      const closing = new Set<string>();
      for (const key of deps.pool.keys()) {
        const userId = userOf(key, serverName);
        if (userId !== null && (await lostAccess(userId))) closing.add(key);
      }
      await deps.pool.disconnectWhere((key) => closing.has(key));
      await forget([...closing, ...alsoUsers.flatMap((id) => userKeys(id, serverName))]);
      // Sharing changed: some may have lost the server and others (a user, a group, everyone) gained it.
      announce({ serverName, users: null });
    },
  };
}
