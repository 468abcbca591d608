import type { Identity, IdentityService } from '../auth/index.js';
import type { Clock } from '../core/index.js';
import { isHubError } from '../errors/index.js';
import type { Logger } from '../observability/index.js';
import type { RegisteredServer, ServerRegistry } from '../registry/index.js';
import { SYSTEM_USER_ID } from '../store/index.js';
import type { ConnectionProfile } from './connection-keys.js';
import type { UpstreamService } from './upstream-service.js';

/** Background (re)connection of users' own connections. */
export interface Reconnector {
  /**
   * A callback stored the user's tokens. Resolves once the connections opened before it are closed
   * and their tools forgotten, so a request sent after the callback's answer never joins (or is cut
   * off by the close of) an old connection; the new one is then opened in the background, and a
   * request that comes meanwhile joins that connect. Never rejects.
   */
  afterAuthorization(userId: string, serverName: string): Promise<void>;
  /** A request from this user: after a while away, their authorized servers reconnect in the background. */
  noticed(caller: Identity): void;
  /**
   * The user's connection of one profile, opened again as their request would open it (the
   * server's current config, tools listed into the cache), after an edit closed the old one.
   * Resolves without connecting when the user is gone or must act first (authorize, set values);
   * rejects when the connect fails.
   */
  reopen(userId: string, serverName: string, profile: ConnectionProfile): Promise<void>;
  stop(): void;
}

/** A user away this long counts as returning. */
const RETURN_GAP_MS = 10 * 60_000;
/** Servers reconnected at once for one returning user, and at most per return. */
const CONCURRENCY = 2;
const MAX_SERVERS = 20;
const MAX_TRACKED_USERS = 50_000;

/**
 * Keeps status and tools ready for users who come back (LibreChat reconnects on login): their
 * user-level servers that have what they need (tokens, variables) are connected in the background,
 * a few at a time, never blocking the request that noticed them.
 */
export function createReconnector(deps: {
  registry: ServerRegistry;
  upstreams: UpstreamService;
  identity: Pick<IdentityService, 'identityOf'>;
  logger: Logger;
  clock: Clock;
}): Reconnector {
  const lastSeen = new Map<string, number>();
  let stopped = false;

  /**
   * Waits for a connect that runs in the background, which joins any connect a request began
   * meanwhile (closing that one would fail the request: "closed while connecting"). A failure is
   * only logged.
   */
  async function quietly(serverName: string, connecting: Promise<unknown>): Promise<void> {
    try {
      await connecting;
    } catch (err) {
      deps.logger.info({ err, server: serverName }, 'background reconnect failed');
    }
  }

  async function warm(caller: Identity): Promise<void> {
    const servers = await deps.registry.list(caller);
    const candidates: RegisteredServer[] = [];
    for (const server of servers) {
      if (candidates.length >= MAX_SERVERS || stopped) break;
      const key = deps.upstreams.keyFor(caller, server);
      if (
        !key.startsWith('user|') ||
        deps.upstreams.status(caller, server).connectionState !== 'disconnected'
      )
        continue;
      // Only servers the user has set up; a fresh server stays untouched until they use it.
      if (deps.upstreams.requiresOAuth(server) && (await deps.upstreams.isAuthenticated(caller, server))) {
        candidates.push(server);
      }
    }
    const queue = [...candidates];
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
        for (let s = queue.shift(); s && !stopped; s = queue.shift())
          await quietly(s.name, deps.upstreams.connect(caller, s));
      }),
    );
  }

  return {
    async afterAuthorization(userId, serverName) {
      try {
        if (userId === SYSTEM_USER_ID) {
          // A shared authorization: the app-level connection everyone uses is opened anew.
          const server = deps.registry.yamlServers().find((s) => s.name === serverName);
          if (!server) return;
          await deps.upstreams.disconnectApp(server);
          void quietly(serverName, deps.upstreams.connectApp(server));
          return;
        }
        const caller = await deps.identity.identityOf(userId);
        if (!caller || stopped) return;
        const server = await deps.registry.get(serverName, caller);
        await deps.upstreams.forgetCaller(caller, server);
        void quietly(serverName, deps.upstreams.connect(caller, server));
      } catch (err) {
        deps.logger.warn({ err, server: serverName }, 'reconnect after authorization failed');
      }
    },
    noticed(caller) {
      const now = deps.clock.now();
      const seen = lastSeen.get(caller.userId);
      if (seen !== undefined && now - seen < RETURN_GAP_MS) {
        lastSeen.set(caller.userId, now);
        return;
      }
      if (lastSeen.size >= MAX_TRACKED_USERS) lastSeen.clear();
      lastSeen.set(caller.userId, now);
      void warm(caller).catch((err: unknown) =>
        deps.logger.warn({ err }, 'background reconnect of a returning user failed'),
      );
    },
    async reopen(userId, serverName, profile) {
      const caller = await deps.identity.identityOf(userId);
      if (!caller || stopped) return;
      const server = await deps.registry.get(serverName, caller);
      try {
        await deps.upstreams.connect(caller, server, profile);
      } catch (err) {
        // Tokens or values the edit made void wait for the user, whose next request asks for them.
        if (isHubError(err, 'HUB_ERR_OAUTH_REQUIRED') || isHubError(err, 'HUB_ERR_MISSING_USER_VARS')) return;
        throw err;
      }
    },
    stop() {
      stopped = true;
    },
  };
}
