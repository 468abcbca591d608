import type { Identity } from '../auth/index.js';
import type { McpSettings } from '../config/index.js';
import type { ConnectionPool, ConnectionState, UpstreamConnection } from '../connections/index.js';
import type { UserVarsStore } from '../credentials/index.js';
import { HubError } from '../errors/index.js';
import {
  connectionScope,
  missingUserVars,
  needsOAuth,
  resolveServer,
  type PlaceholderContext,
  type RegisteredServer,
} from '../registry/index.js';
import type { ToolCache } from '../tools/index.js';
import { connectionKey } from './connection-keys.js';

/** What the status routes report for one server and caller. */
export interface ServerStatus {
  connectionState: ConnectionState;
  requiresOAuth: boolean;
}

/** A caller's live connection to one server. */
export interface CallerConnection {
  key: string;
  connection: UpstreamConnection;
}

/** Connects callers to servers, and answers status without side effects. */
export interface UpstreamService {
  /** The caller's connection, connecting if needed; `HUB_ERR_MISSING_USER_VARS` when values are missing. */
  connect(caller: Identity, server: RegisteredServer): Promise<CallerConnection>;
  /** The shared connection of an app-level server (start-up inspection); no caller involved. */
  connectApp(server: RegisteredServer): Promise<CallerConnection>;
  /** Status without connecting, disconnecting or touching idle timers. */
  status(caller: Identity, server: RegisteredServer): ServerStatus;
  /** Closes and reopens the caller's connection (a shared one only for admins) and refreshes tools. */
  reinitialize(caller: Identity, server: RegisteredServer): Promise<CallerConnection>;
  /** Closes the caller's own connection (shared ones only for admins); true when one was open. */
  disconnect(caller: Identity, server: RegisteredServer): Promise<boolean>;
  /** Drops the caller's connection and cached tools after their values changed. */
  forgetCaller(caller: Identity, server: RegisteredServer): Promise<void>;
}

const NO_CALLER: PlaceholderContext = { userId: '', email: '', userVars: {} };

/** Creates the service over the pool, the user-variable store and the tool cache. */
export function createUpstreamService(deps: {
  pool: ConnectionPool;
  userVars: UserVarsStore;
  tools: ToolCache;
  settings: McpSettings;
}): UpstreamService {
  async function open(
    key: string,
    server: RegisteredServer,
    ctx: PlaceholderContext,
  ): Promise<CallerConnection> {
    const resolved = resolveServer(server.config, ctx, deps.settings);
    const connection = await deps.pool.acquire(key, resolved.fingerprint, resolved.spec, resolved.options);
    if ((await deps.tools.get(key)) === null) await deps.tools.put(key, await connection.listTools());
    return { key, connection };
  }

  async function connect(caller: Identity, server: RegisteredServer): Promise<CallerConnection> {
    const key = connectionKey(server, caller);
    const userScoped = connectionScope(server.config) === 'user';
    const userVars = userScoped ? await deps.userVars.get(caller.userId, server.name) : {};
    const missing = missingUserVars(server.config, userVars);
    if (missing.length > 0) {
      throw new HubError('HUB_ERR_MISSING_USER_VARS', {
        message: `MCP server '${server.name}' needs values you have not set: ${missing.join(', ')}`,
        details: { missing },
      });
    }
    // An app-level connection is shared: it must not depend on who opened it first.
    return open(
      key,
      server,
      userScoped ? { userId: caller.userId, email: caller.email, userVars } : NO_CALLER,
    );
  }

  const mayTouch = (caller: Identity, server: RegisteredServer) =>
    connectionScope(server.config) === 'user' || caller.role === 'ADMIN';

  return {
    connect,
    connectApp(server) {
      if (connectionScope(server.config) !== 'app') {
        return Promise.reject(
          new HubError('HUB_ERR_INTERNAL', { message: `'${server.name}' is not an app-level server` }),
        );
      }
      return open(`app|${server.name}`, server, NO_CALLER);
    },
    status(caller, server) {
      return {
        connectionState: deps.pool.state(connectionKey(server, caller)),
        requiresOAuth: needsOAuth(server.config),
      };
    },
    async reinitialize(caller, server) {
      const key = connectionKey(server, caller);
      if (mayTouch(caller, server)) {
        await deps.pool.disconnect(key);
        await deps.tools.invalidate(key);
      }
      return connect(caller, server);
    },
    async disconnect(caller, server) {
      if (!mayTouch(caller, server)) return false;
      const key = connectionKey(server, caller);
      const wasOpen = deps.pool.state(key) !== 'disconnected';
      await deps.pool.disconnect(key);
      return wasOpen;
    },
    async forgetCaller(caller, server) {
      if (connectionScope(server.config) !== 'user') return;
      const key = connectionKey(server, caller);
      await deps.pool.disconnect(key);
      await deps.tools.invalidate(key);
    },
  };
}
