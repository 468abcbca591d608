import type { Identity } from '../auth/index.js';
import type { McpSettings } from '../config/index.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import type {
  ConnectionPool,
  ConnectionState,
  FetchLike,
  SessionChannel,
  UpstreamConnection,
} from '../connections/index.js';
import { destinationDigest, type UserVarsStore } from '../credentials/index.js';
import { systemClock, type Clock } from '../core/index.js';
import { HubError, isHubError } from '../errors/index.js';
import {
  type OAuthAuthState,
  type OAuthChallenge,
  type OAuthServerContext,
  type OAuthService,
} from '../oauth/index.js';
import {
  missingUserVars,
  needsOAuth,
  userVarFields,
  resolveServer,
  type PlaceholderContext,
  type RegisteredServer,
  type ResolvedServer,
} from '../registry/index.js';
import { SYSTEM_USER_ID } from '../store/index.js';
import type { ToolCache } from '../tools/index.js';
import {
  connectionKeyFor,
  sessionConnectionKey,
  type ConnectionProfile,
  type ConnectionScope,
} from './connection-keys.js';
import { sessionCapReached, sessionCapsOf, type SessionCapReached } from './session-caps.js';
import { addRequestHeaders } from './call-headers.js';
import { ProfileSharing } from './profile-sharing.js';
import { LearnedOAuth } from './learned-oauth.js';
import { ChallengeLog } from './challenge-log.js';
import { ConnectFailures, type ConnectFailure } from './connect-failures.js';
import { countConnectionsByServer, type ConnectionCounts } from './connection-counts.js';
import { ServerScopes } from './server-scopes.js';

/** What the status routes report for one server and caller. */
export interface ServerStatus {
  connectionState: ConnectionState;
  requiresOAuth: boolean;
}

export type { ConnectFailure, ConnectionCounts };

/** An admin's shared authorization (`sharedOAuth`) as facts, never the token. */
export interface SharedAuthorization {
  state: OAuthAuthState;
  /** Epoch ms; null when the authorization server gave no lifetime or there are no tokens. */
  expiresAt: number | null;
  /** The granted scope; null when there are no tokens. */
  scope: string | null;
}

/** A caller's live connection to one server. */
export interface CallerConnection {
  key: string;
  connection: UpstreamConnection;
}

/** A downstream MCP session a relay connection is bound to (see `connectBound`). */
export interface SessionBinding {
  sessionId: string;
  /** What the session's client declared (sampling, elicitation, roots): the connection declares the same. */
  capabilities: ClientCapabilities;
  /** Where the upstream's requests that no call claims go: the session's client. */
  channel: SessionChannel;
}

/** Connects callers to servers, and answers status without side effects. */
export interface UpstreamService {
  /**
   * The caller's connection of the given profile (default `rest`), connecting if needed. Throws
   * `HUB_ERR_MISSING_USER_VARS` when values are missing and `HUB_ERR_OAUTH_REQUIRED` when the
   * caller must authorize first.
   */
  connect(caller: Identity, server: RegisteredServer, profile?: ConnectionProfile): Promise<CallerConnection>;
  /**
   * The caller's relay connection for one downstream session only (its own process for a stdio
   * server), declaring that session's client capabilities; `connect`'s checks and errors. Its tools
   * are not written to the shared list. The session closes it when it ends. When opening it would
   * pass `mcpSettings.maxSessionConnections` (this user and server) or `maxSessionConnectionsTotal`
   * (this instance), nothing is opened and the cap reached is returned instead.
   */
  connectBound(
    caller: Identity,
    server: RegisteredServer,
    session: SessionBinding,
  ): Promise<CallerConnection | SessionCapReached>;
  /** Closes the shared connections (every profile) of an app-level server and forgets their tools. */
  disconnectApp(server: RegisteredServer): Promise<void>;
  /** The shared connection of an app-level server (start-up inspection); no caller involved. */
  connectApp(server: RegisteredServer): Promise<CallerConnection>;
  /** Status (of the given profile, default `rest`) without connecting or touching idle timers. */
  status(caller: Identity, server: RegisteredServer, profile?: ConnectionProfile): ServerStatus;
  /**
   * Closes the caller's connections of every profile (shared ones only for admins), then reopens
   * the `rest` one and refreshes its tools; the `relay` one reopens on its next use.
   */
  reinitialize(caller: Identity, server: RegisteredServer): Promise<CallerConnection>;
  /** Closes the caller's own connections (shared ones only for admins); true when one was open. */
  disconnect(caller: Identity, server: RegisteredServer): Promise<boolean>;
  /** Drops the caller's connections and cached tools after their credentials changed. */
  forgetCaller(caller: Identity, server: RegisteredServer): Promise<void>;
  /** The pool and tool-cache key of the caller's connection of a profile (default `rest`). */
  keyFor(caller: Pick<Identity, 'userId'>, server: RegisteredServer, profile?: ConnectionProfile): string;
  /** True when the server is protected by OAuth: by configuration, or learned from a 401 challenge. */
  requiresOAuth(server: RegisteredServer): boolean;
  /** True when the caller has what the server needs: their variables and, for OAuth servers, tokens. */
  isAuthenticated(caller: Identity, server: RegisteredServer): Promise<boolean>;
  /** Whose tokens the caller's connection uses: their own, or `system` for a shared authorization. */
  tokenOwner(server: RegisteredServer, caller: Pick<Identity, 'userId'>): string;
  /** The last OAuth challenge the server sent for the caller's tokens, if any. */
  lastChallenge(caller: Pick<Identity, 'userId'>, server: RegisteredServer): OAuthChallenge | undefined;
  /** The server URL the caller connects to (placeholders filled), for OAuth discovery. */
  serverUrlFor(caller: Identity, server: RegisteredServer): Promise<string>;
  /** Whether the server's connection is one shared by everyone (`app`) or one per user. */
  scope(server: RegisteredServer): ConnectionScope;
  /** This instance's pool by server name (every profile counted); read-only, connects nothing. */
  connectionCounts(): Map<string, ConnectionCounts>;
  /** This instance's last connect failure for the server, if any since start. */
  lastFailure(serverName: string): ConnectFailure | undefined;
  /** The shared authorization of a `sharedOAuth` server; null for any other server. */
  sharedAuthorization(server: RegisteredServer): Promise<SharedAuthorization | null>;
}

const NO_CALLER: PlaceholderContext = { userId: '', email: '', userVars: {} };

/**
 * What a `relay` connection declares to its upstream: every client capability the hub can pass
 * on to a downstream MCP client (which answers, or the hub refuses when it declared none).
 */
const RELAY_CAPABILITIES: ClientCapabilities = {
  sampling: {},
  elicitation: { form: {}, url: {} },
  roots: {},
};

/** Creates the service over the pool, user variables, OAuth tokens and the tool cache. */
export function createUpstreamService(deps: {
  pool: ConnectionPool;
  userVars: UserVarsStore;
  tools: ToolCache;
  settings: McpSettings;
  oauth: OAuthService;
  /** The egress path for users' own servers: only the admin's allowlist opens private addresses. */
  userServerFetch: FetchLike;
  /** The admin egress path through a YAML server's `proxy` (users' servers never carry one). */
  proxiedFetch?: (proxyUrl: string) => FetchLike;
  /** When failures happened; default the system clock. */
  clock?: Clock;
  /**
   * Servers that turned out to need OAuth, shared by the instances; default one of this instance's
   * own (see {@link LearnedOAuth}).
   */
  learnedOAuth?: LearnedOAuth;
}): UpstreamService {
  const sessionCaps = sessionCapsOf(deps.settings);
  const failures = new ConnectFailures(deps.clock ?? systemClock);
  const learnedOAuth = deps.learnedOAuth ?? new LearnedOAuth({});
  const catalogued = new WeakSet<UpstreamConnection>();
  const challenges = new ChallengeLog();
  // App-level stdio servers that answer REST and /mcp alike share one process (profile-sharing.ts).
  const sharing = new ProfileSharing(deps.pool);
  const scopes = new ServerScopes(learnedOAuth, sharing);
  const scopeOf = (server: RegisteredServer): ConnectionScope => scopes.scopeOf(server);
  const tokenOwner = (server: RegisteredServer, caller: Pick<Identity, 'userId'>): string =>
    scopes.tokenOwner(server, caller);

  /** The caller's variables for the server; no store read for a server that asks for none (the common case). */
  async function varsOf(caller: Identity, server: RegisteredServer): Promise<Record<string, string>> {
    return userVarFields(server.config).length === 0 ? {} : deps.userVars.get(caller.userId, server);
  }

  /**
   * Whose tokens, for which URL (placeholders filled) and config: what a stored token is checked
   * against before it counts, since it is sent only where it was issued for.
   */
  function oauthContext(
    server: RegisteredServer,
    ctx: PlaceholderContext,
    owner: string,
  ): OAuthServerContext {
    const spec = resolveServer(server.config, ctx, deps.settings).spec;
    const serverUrl = spec.transport === 'stdio' ? '' : spec.url;
    return { userId: owner, serverName: server.name, serverUrl, config: server.config };
  }

  async function contextFor(caller: Identity, server: RegisteredServer): Promise<PlaceholderContext> {
    // An app-level connection is shared: it must not depend on who opened it first.
    if (scopeOf(server) === 'app') return NO_CALLER;
    const userVars = await varsOf(caller, server);
    const missing = missingUserVars(server.config, userVars);
    if (missing.length > 0) {
      throw new HubError('HUB_ERR_MISSING_USER_VARS', {
        message: `MCP server '${server.name}' needs values you have not set: ${missing.join(', ')}`,
        details: { missing },
      });
    }
    return { userId: caller.appUserId, email: caller.email, userVars };
  }

  async function open(
    key: string,
    server: RegisteredServer,
    ctx: PlaceholderContext,
    userId: string,
    profile: ConnectionProfile,
    relist = false,
    session?: SessionBinding,
  ): Promise<CallerConnection> {
    // Nothing awaited before the pool's acquire: connectBound counts the caps just before this.
    const resolved = resolveServer(server.config, ctx, deps.settings);
    const options = {
      ...withOAuth(resolved, server, userId),
      ...(profile === 'relay' ? { capabilities: RELAY_CAPABILITIES } : {}),
      ...(session ? { capabilities: session.capabilities, session: session.channel } : {}),
    };
    let connection: UpstreamConnection;
    try {
      connection = await deps.pool.acquire(key, resolved.fingerprint, resolved.spec, options);
    } catch (err) {
      failures.note(server.name, err);
      // A 401 that survived the token refresh (or came from a server nobody said needed OAuth).
      if (isHubError(err) && err.details?.upstreamStatus === 401 && resolved.spec.transport !== 'stdio') {
        if (!needsOAuth(server.config)) learnedOAuth.learn(server);
        throw new HubError('HUB_ERR_OAUTH_REQUIRED', { cause: err });
      }
      throw err;
    }
    // A connection seen for the first time (a connect or a reconnect) lists its tools once, and a
    // reinitialize lists them again; later calls never touch the KV, and `list_changed` refreshes
    // are the tool watcher's. Writing the shared copy is bounded and never fails the connect.
    if (!session && (relist || !catalogued.has(connection))) {
      await deps.tools.refresh(key, connection, server);
      catalogued.add(connection);
    }
    // Both profiles of an app-level stdio server up for the first time: judged once, and a REST
    // caller whose connection just retired takes the shared relay one.
    const judged = session || scopeOf(server) !== 'app' ? false : sharing.consider(server);
    if (judged !== false && (await judged) && profile === 'rest')
      return open(connectionKeyFor('app', server.name, '', 'relay'), server, ctx, userId, 'relay', relist);
    return { key, connection };
  }

  /**
   * The fetch a connection uses: a user's server goes through the user egress path (never the
   * admin's implicit YAML allowlist), and for OAuth servers every request carries the current token
   * (refreshed as needed).
   */
  function withOAuth(
    resolved: ResolvedServer,
    server: RegisteredServer,
    userId: string,
  ): ResolvedServer['options'] {
    const spec = resolved.spec;
    if (spec.transport !== 'sse' && spec.transport !== 'streamable-http') return resolved.options;
    const userServer = server.source === 'db';
    const ctx = { userId, serverName: server.name, serverUrl: spec.url, config: server.config };
    const wrapFetch = (base: FetchLike): FetchLike => {
      const proxy = !userServer && 'proxy' in server.config ? server.config.proxy : undefined;
      const admin = proxy !== undefined && deps.proxiedFetch ? deps.proxiedFetch(proxy) : base;
      const path = userServer ? deps.userServerFetch : admin;
      const authorized = scopes.requiresOAuth(server) ? deps.oauth.authorizedFetch(path, ctx) : path;
      const heard = challenges.remembering(
        authorized,
        `${userId}|${server.name}`,
        destinationDigest(server.config),
      );
      // Outermost, so an OAuth token set below always wins over a same-named request header.
      const templates = 'requestHeaders' in server.config ? server.config.requestHeaders : undefined;
      return templates ? addRequestHeaders(heard, templates) : heard;
    };
    return { ...resolved.options, wrapFetch };
  }

  async function connect(
    caller: Identity,
    server: RegisteredServer,
    profile: ConnectionProfile = 'rest',
    relist = false,
  ): Promise<CallerConnection> {
    const key = scopes.keyFor(caller, server, profile);
    const ctx = await authorizedContext(caller, server, key);
    return open(key, server, ctx, tokenOwner(server, caller), scopes.profileOf(server, profile), relist);
  }

  async function connectBound(
    caller: Identity,
    server: RegisteredServer,
    session: SessionBinding,
  ): Promise<CallerConnection | SessionCapReached> {
    const shared = scopes.keyFor(caller, server, 'relay');
    const key = sessionConnectionKey(shared, session.sessionId, caller.userId);
    const ctx = await authorizedContext(caller, server, key);
    // No await from the count to the pool's acquire in `open`, which marks the key connecting at
    // once: sessions connecting at the same moment see each other, and the caps hold.
    const full = sessionCapReached(deps.pool, key, sessionCaps);
    if (full) return full;
    return open(key, server, ctx, tokenOwner(server, caller), 'relay', false, session);
  }

  /** The caller's placeholder context, once the server's OAuth (if any) lets them connect `key`. */
  async function authorizedContext(
    caller: Identity,
    server: RegisteredServer,
    key: string,
  ): Promise<PlaceholderContext> {
    const ctx = await contextFor(caller, server);
    if (scopes.requiresOAuth(server) && deps.pool.state(key) !== 'connected') {
      const state = await deps.oauth.authState(oauthContext(server, ctx, tokenOwner(server, caller)));
      if (state === 'none' || state === 'needs_auth') throw new HubError('HUB_ERR_OAUTH_REQUIRED');
    }
    return ctx;
  }

  /** Closes the given keys' connections; with `forgetTools`, drops their cached tool lists too. */
  async function closeKeys(keys: readonly string[], forgetTools: boolean): Promise<void> {
    await Promise.all(keys.map((key) => deps.pool.disconnect(key)));
    if (forgetTools) await Promise.all(keys.map((key) => deps.tools.invalidate(key)));
  }

  return {
    connect,
    connectBound,
    keyFor: (caller, server, profile) => scopes.keyFor(caller, server, profile),
    requiresOAuth: (server) => scopes.requiresOAuth(server),
    tokenOwner,
    lastChallenge(caller, server) {
      const owner = `${tokenOwner(server, caller)}|${server.name}`;
      return challenges.last(owner, destinationDigest(server.config));
    },
    async disconnectApp(server) {
      await closeKeys(scopes.keysOf({ userId: '' }, server), true);
    },
    connectApp(server) {
      if (scopeOf(server) !== 'app') {
        return Promise.reject(
          new HubError('HUB_ERR_INTERNAL', { message: `'${server.name}' is not an app-level server` }),
        );
      }
      const profile = scopes.profileOf(server, 'rest');
      return open(
        connectionKeyFor('app', server.name, '', profile),
        server,
        NO_CALLER,
        SYSTEM_USER_ID,
        profile,
      );
    },
    status(caller, server, profile) {
      return {
        connectionState: deps.pool.state(scopes.keyFor(caller, server, profile)),
        requiresOAuth: scopes.requiresOAuth(server),
      };
    },
    async reinitialize(caller, server) {
      if (scopes.mayTouch(caller, server)) await closeKeys(scopes.keysOf(caller, server), true);
      // A connection left open (a shared one, for a user) lists its tools again all the same.
      return connect(caller, server, 'rest', true);
    },
    async disconnect(caller, server) {
      if (!scopes.mayTouch(caller, server)) return false;
      const keys = scopes.keysOf(caller, server);
      const wasOpen = keys.some((key) => deps.pool.state(key) !== 'disconnected');
      await closeKeys(keys, false);
      return wasOpen;
    },
    async forgetCaller(caller, server) {
      if (scopeOf(server) !== 'user') return;
      await closeKeys(scopes.keysOf(caller, server), true);
    },
    async isAuthenticated(caller, server) {
      if (scopes.isShared(server)) {
        const state = await deps.oauth.authState(oauthContext(server, NO_CALLER, SYSTEM_USER_ID));
        return state === 'authorized' || state === 'expiring';
      }
      if (scopeOf(server) === 'app') return true;
      const vars = await varsOf(caller, server);
      if (missingUserVars(server.config, vars).length > 0) return false;
      if (!scopes.requiresOAuth(server)) return true;
      const ctx: PlaceholderContext = { userId: caller.appUserId, email: caller.email, userVars: vars };
      const state = await deps.oauth.authState(oauthContext(server, ctx, caller.userId));
      return state === 'authorized' || state === 'expiring';
    },
    scope: scopeOf,
    connectionCounts: () => countConnectionsByServer(deps.pool),
    lastFailure: (serverName) => failures.last(serverName),
    async sharedAuthorization(server) {
      if (!scopes.isShared(server)) return null;
      const state = await deps.oauth.authState(oauthContext(server, NO_CALLER, SYSTEM_USER_ID));
      const tokens = state === 'none' ? null : await deps.oauth.tokenMetadata(SYSTEM_USER_ID, server.name);
      return { state, expiresAt: tokens?.expires_at ?? null, scope: tokens?.scope ?? null };
    },
    async serverUrlFor(caller, server) {
      const resolved = resolveServer(server.config, await contextFor(caller, server), deps.settings);
      if (resolved.spec.transport === 'stdio') {
        throw new HubError('HUB_ERR_BAD_REQUEST', {
          message: `MCP server '${server.name}' is not a remote server`,
        });
      }
      return resolved.spec.url;
    },
  };
}
