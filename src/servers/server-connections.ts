import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/index.js';
import type { ToolCache } from '../tools/index.js';
import { allProfileKeys, isKeyOfServer, parseConnectionKey, type ServerChange } from '../upstreams/index.js';
import type { CatalogChange } from './catalog-change.js';
import { accessVerdicts, reopenConnections, type Reopen } from './reopen-connections.js';

/** The part of the connection pool this feature uses; `ConnectionPool` satisfies it. */
export interface PoolHandle {
  keys(): string[];
  disconnectWhere(predicate: (key: string) => boolean): Promise<void>;
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
   * A deleted server: every connection to it and their cached tools, here and on every instance,
   * and the cached tools of `alsoUsers` (users known to have used it: the owner and the ACL's
   * users) and of the shared keys, which no instance may hold a connection for any more.
   */
  closeServer(serverName: string, alsoUsers: readonly string[]): Promise<void>;
  /**
   * An edited server: what {@link closeServer} closes and forgets, after which every instance
   * reopens in the background the connections it closed whose users still see the server, with
   * the new config.
   */
  replaceServer(serverName: string, alsoUsers: readonly string[]): Promise<void>;
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
  /**
   * Opens a user's connection again after an edit (the upstream service's connect); without it,
   * an edit only closes, and connections reopen on their users' next requests.
   */
  reopen?: Reopen | undefined;
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

  /** This instance's connections to the server, closed, and their cached tools dropped; their keys. */
  const closeHere = async (serverName: string): Promise<string[]> => {
    const keys = deps.pool.keys().filter((key) => isKeyOfServer(key, serverName));
    await deps.pool.disconnectWhere((key) => keys.includes(key));
    await forget(keys);
    return keys;
  };

  /** This instance's connections of users who lost the server, closed, and their cached tools dropped. */
  const closeLostHere = async (serverName: string): Promise<void> => {
    const lost = accessVerdicts(deps.lostAccess, serverName);
    const closing = new Set<string>();
    for (const key of deps.pool.keys()) {
      const userId = userOf(key, serverName);
      if (userId !== null && (await lost(userId))) closing.add(key);
    }
    await deps.pool.disconnectWhere((key) => closing.has(key));
    await forget(closing);
  };

  /** The shared keys' and the known users' cached tools, wherever their connections were. */
  const forgetServer = (serverName: string, alsoUsers: readonly string[]): Promise<void> =>
    forget([
      ...allProfileKeys('app', serverName, ''),
      ...alsoUsers.flatMap((id) => userKeys(id, serverName)),
    ]);

  /** Started, not awaited: an edit's answer (or the next change heard) does not wait for upstreams. */
  const reopenInBackground = (serverName: string, closed: readonly string[]): void => {
    const reopen = deps.reopen;
    if (reopen === undefined || closed.length === 0) return;
    void reopenConnections({ reopen, lostAccess: deps.lostAccess, logger: deps.logger }, serverName, closed);
  };

  // Names this instance's own `replaced` announcements: it applied them before publishing, and
  // applying them again would close the connections it is reopening.
  const self = randomUUID();

  return {
    added(serverName, ownerId) {
      announce({ serverName, users: [ownerId] });
    },

    async closeServer(serverName, alsoUsers) {
      await closeHere(serverName);
      await forgetServer(serverName, alsoUsers);
      announce({ serverName, users: null });
      await tellOthers({ serverName, change: 'closed' });
    },

    async replaceServer(serverName, alsoUsers) {
      // Closed before the edit is answered: no call after it reaches the old config here.
      const closed = await closeHere(serverName);
      await forgetServer(serverName, alsoUsers);
      announce({ serverName, users: null });
      reopenInBackground(serverName, closed);
      await tellOthers({ serverName, change: 'replaced', origin: self });
    },

    async closeUsers(serverName, alsoUsers) {
      await closeLostHere(serverName);
      await forget(alsoUsers.flatMap((id) => userKeys(id, serverName)));
      // Sharing changed: some may have lost the server and others (a user, a group, everyone) gained it.
      announce({ serverName, users: null });
      await tellOthers({ serverName, change: 'access' });
    },

    async apply(change) {
      if (change.change === 'access') return closeLostHere(change.serverName);
      if (change.change === 'replaced' && change.origin === self) return;
      const closed = await closeHere(change.serverName);
      if (change.change === 'replaced') reopenInBackground(change.serverName, closed);
    },
  };
}
