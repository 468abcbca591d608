import type { Identity } from '../auth/index.js';
import { HubError, isHubError } from '../errors/index.js';
import type { RegisteredServer, ServerRegistry } from '../registry/index.js';
import type { UsersRepository } from '../store/index.js';
import type {
  ConnectFailure,
  ConnectionCounts,
  SharedAuthorization,
  UpstreamService,
} from './upstream-service.js';

/** One registered server's health as seen from this instance. */
export interface ServerHealth {
  name: string;
  /** `yaml`: the admin's configuration file; `db`: created by a user. */
  source: 'yaml' | 'db';
  /** The transport: stdio, sse, streamable-http or websocket. */
  type: string;
  /** `app`: one connection shared by everyone; `user`: one per user. */
  scope: 'app' | 'user';
  /** A user-created server's creator; null for the file's servers. */
  owner: { id: string; email: string | null } | null;
  requiresOAuth: boolean;
  /** This instance's connections of the server, by state. */
  connections: ConnectionCounts;
  /** This instance's last failure to connect, with how many since it started. */
  lastFailure: ConnectFailure | null;
  /** For a `sharedOAuth` server, where its one authorization stands; null otherwise. */
  sharedAuthorization: SharedAuthorization | null;
}

/** Every registered server's health; counts and failures are this instance's own. */
export interface ServerHealthReport {
  /** Always `instance`: several hub instances each hold their own connections. */
  countsFrom: 'instance';
  servers: ServerHealth[];
  /** True when there were more user-created servers than one report lists. */
  truncated: boolean;
}

/** Answers `GET /api/admin/servers/health`. */
export interface ServerHealthService {
  /** Admins only (403 otherwise). */
  report(caller: Identity): Promise<ServerHealthReport>;
}

/** User-created servers one report covers at most (each is one read to compose). */
const MAX_USER_SERVERS = 1_000;
const NO_CONNECTIONS: ConnectionCounts = { connected: 0, connecting: 0, error: 0, usersConnected: 0 };

/** Builds the health report over the registry, the upstream service and the stored server names. */
export function createServerHealthService(deps: {
  registry: ServerRegistry;
  upstreams: UpstreamService;
  /** Every user-created server's name (the store's `listNames`). */
  userServerNames: () => Promise<string[]>;
  users: Pick<UsersRepository, 'findById'>;
}): ServerHealthService {
  /** The user-created servers, composed as the admin reaches them by name; unreadable ones are left out. */
  async function userServers(caller: Identity, names: readonly string[]): Promise<RegisteredServer[]> {
    const found = await Promise.all(
      names.map(async (name) => {
        try {
          const server = await deps.registry.get(name, caller);
          return server.source === 'db' ? server : null;
        } catch (err) {
          if (isHubError(err, 'HUB_ERR_SERVER_NOT_FOUND')) return null;
          throw err;
        }
      }),
    );
    return found.filter((s): s is RegisteredServer => s !== null);
  }

  async function emails(ids: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    const rows = await Promise.all(
      unique.map(async (id) => [id, (await deps.users.findById(id))?.email] as const),
    );
    return new Map(rows.flatMap(([id, email]) => (email === undefined ? [] : [[id, email] as const])));
  }

  return {
    async report(caller) {
      if (caller.role !== 'ADMIN') throw new HubError('HUB_ERR_FORBIDDEN');
      const names = await deps.userServerNames();
      const yaml = deps.registry.yamlServers();
      const db = await userServers(caller, names.slice(0, MAX_USER_SERVERS));
      const owners = await emails(db.flatMap((s) => (s.ownerId === undefined ? [] : [s.ownerId])));
      const counts = deps.upstreams.connectionCounts();
      const servers = await Promise.all(
        [...yaml, ...db].map(async (server): Promise<ServerHealth> => {
          const ownerId = server.ownerId;
          return {
            name: server.name,
            source: server.source,
            type: server.config.type,
            scope: deps.upstreams.scope(server),
            owner: ownerId === undefined ? null : { id: ownerId, email: owners.get(ownerId) ?? null },
            requiresOAuth: deps.upstreams.requiresOAuth(server),
            connections: counts.get(server.name) ?? NO_CONNECTIONS,
            lastFailure: deps.upstreams.lastFailure(server.name) ?? null,
            sharedAuthorization: await deps.upstreams.sharedAuthorization(server),
          };
        }),
      );
      servers.sort((a, b) => a.name.localeCompare(b.name));
      return { countsFrom: 'instance', servers, truncated: names.length > MAX_USER_SERVERS };
    },
  };
}
