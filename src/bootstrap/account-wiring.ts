import {
  announceAccountChanges,
  applyAccountChanges,
  removalCleanup,
  type BeforeRemoval,
  type UserChange,
} from '../accounts/index.js';
import type { AccountCacheOption, Identity, IdentityService } from '../auth/index.js';
import type { ConnectionPool } from '../connections/index.js';
import type { Kv, KvUnsubscribe } from '../kv/index.js';
import { flowIdFor, type OAuthService } from '../oauth/index.js';
import type { Logger } from '../observability/index.js';
import type { ServerRegistry } from '../registry/index.js';
import type { Repositories } from '../store/index.js';
import type { ToolCache } from '../tools/index.js';
import { parseConnectionKey, type UpstreamService } from '../upstreams/index.js';

/**
 * With a shared KV (several instances), a user's account is reused this long between requests;
 * every change is announced over the KV and drops it at once, so this only bounds a lost notice.
 */
const ACCOUNT_CACHE_TTL_MS = 10_000;

/**
 * How account changes travel between this instance and the others. The identity service is built
 * before the KV subscription exists, so this holds the two facts it reads later: whether the
 * instance hears changes yet (only then may accounts be cached), and where to announce its own.
 */
export class AccountChangeFeed {
  /** True once the subscription is live; until then every request reads its account. */
  hearing = false;
  private announceTo: ((change: UserChange) => Promise<void>) | undefined;
  private unsubscribe: KvUnsubscribe | undefined;

  /**
   * `shared`: the KV reaches every instance. `outsideWrites`: the database tells when another process
   * wrote to it (SQLite), which is how the CLI's changes are seen on the embedded setup.
   */
  constructor(
    private readonly shared: boolean,
    private readonly logger: Logger,
    private readonly outsideWrites?: () => number,
  ) {}

  /**
   * The identity service's cache option, only while changes are heard: with a shared KV every
   * instance hears them; on one instance over SQLite, the CLI's writes from its own process drop the
   * cache as the database reports them. Otherwise (one instance over PostgreSQL) none: every
   * request reads its account.
   */
  cacheOption(): AccountCacheOption | undefined {
    const active = () => this.hearing;
    if (this.shared) return { ttlMs: ACCOUNT_CACHE_TTL_MS, active };
    if (this.outsideWrites !== undefined)
      return { ttlMs: ACCOUNT_CACHE_TTL_MS, active, outsideWrites: this.outsideWrites };
    return undefined;
  }

  /** Announces a change made here (forget locally, then tell every instance). */
  readonly announce = async (change: UserChange): Promise<void> => {
    await this.announceTo?.(change);
  };

  /** Announces without waiting: a failed publish is logged, the change itself already happened. */
  announceInBackground(change: UserChange): void {
    this.announce(change).catch((err: unknown) =>
      this.logger.warn({ err }, 'could not announce an account change'),
    );
  }

  /**
   * Starts announcing and hearing over the KV. Not awaited by the caller: an unreachable Redis must
   * not stop the hub from starting (readiness reports it).
   */
  start(deps: {
    kv: Kv;
    identity: IdentityService;
    pool: ConnectionPool;
    tools: ToolCache;
    registry: ServerRegistry;
  }): void {
    this.announceTo = announceAccountChanges(deps);
    applyAccountChanges({
      kv: deps.kv,
      identity: deps.identity,
      logger: this.logger,
      closeConnections: (userId, change) => this.closeConnections(deps, userId, change),
    }).then(
      (unsubscribe) => {
        this.unsubscribe = unsubscribe;
        this.hearing = true;
      },
      (err: unknown) =>
        this.logger.error({ err }, 'cannot hear account changes: accounts are read on every request'),
    );
  }

  /**
   * A removed or disabled user's upstream connections close on this instance; after a role change,
   * only those to servers the user can no longer see (asked of the registry, as a request would), so
   * a demotion never costs the user the connections their new role still reaches.
   */
  private async closeConnections(
    deps: { identity: IdentityService; pool: ConnectionPool; tools: ToolCache; registry: ServerRegistry },
    userId: string,
    change: 'removed' | 'disabled' | 'role',
  ): Promise<void> {
    // A session's own connection to an app-level server names its user only as the session's owner.
    const theirs = (key: string): boolean => {
      const parts = parseConnectionKey(key);
      return parts?.userId === userId || parts?.sessionOwner === userId;
    };
    let closing = deps.pool.keys().filter(theirs);
    if (change === 'role') {
      const caller = await deps.identity.identityOf(userId);
      const servers = new Set(closing.map((key) => parseConnectionKey(key)!.serverName));
      const lost = new Set<string>();
      for (const serverName of servers) {
        if (caller === null || !(await sees(deps.registry, serverName, caller))) lost.add(serverName);
      }
      closing = closing.filter((key) => lost.has(parseConnectionKey(key)!.serverName));
    }
    const keys = new Set(closing);
    await deps.pool.disconnectWhere((key) => keys.has(key));
    await Promise.all(closing.map((key) => deps.tools.invalidate(key)));
  }

  async stop(): Promise<void> {
    this.hearing = false;
    await this.unsubscribe?.();
  }
}

/** True when the registry lets the caller see the server; a refusal or a failure is a no (closing is the safe side). */
async function sees(registry: ServerRegistry, serverName: string, caller: Identity): Promise<boolean> {
  try {
    await registry.get(serverName, caller);
    return true;
  } catch {
    return false;
  }
}

/**
 * AZ-12: what removing a user does first: their pending flows are cancelled and their OAuth token
 * sets revoked at their authorization servers (RFC 7009), as the user they were (a disabled user too).
 */
export function revokeOnRemoval(deps: {
  logger: Logger;
  repos: Repositories;
  identity: IdentityService;
  registry: ServerRegistry;
  upstreams: UpstreamService;
  oauth: OAuthService;
}): BeforeRemoval {
  const formerly = (userId: string) => deps.identity.identityOf(userId, { includeDisabled: true });
  return removalCleanup({
    logger: deps.logger,
    tokenServers: async (userId) =>
      (await deps.repos.credentials.listForUser(userId))
        .filter((c) => c.kind === 'oauth_tokens')
        .map((c) => c.serverName),
    flowServers: async (userId) => {
      const who = await formerly(userId);
      const theirs = who === null ? [] : await deps.registry.list(who);
      return [...deps.registry.yamlServers(), ...theirs].map((s) => s.name);
    },
    revoke: async (userId, serverName) => {
      const who = await formerly(userId);
      if (who === null) return;
      // An admin server the user no longer sees still holds their tokens: revoke those too.
      const server =
        deps.registry.yamlServers().find((s) => s.name === serverName) ??
        (await deps.registry.get(serverName, who));
      const serverUrl = await deps.upstreams.serverUrlFor(who, server);
      await deps.oauth.revoke({ userId, serverName, serverUrl, config: server.config });
    },
    cancelFlow: (userId, serverName) => deps.oauth.cancel(flowIdFor(userId, serverName)),
  });
}
