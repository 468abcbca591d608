import type { Identity } from '../auth/index.js';
import {
  userVarFields,
  type RegisteredServer,
  type ServerRegistry,
  type UserVarField,
} from '../registry/index.js';
import type { ConnectionState } from '../connections/index.js';
import type { CachedTool, ToolCache, ToolSource } from './tool-cache.js';
import { toolDetails, type ToolDetails } from './tool-details.js';

/**
 * One tool in the REST listing: LibreChat's shape (`name`, `pluginKey`, `description`), plus the
 * optional details of {@link ToolDetails} for clients that show or validate a tool's arguments.
 */
export interface ListedTool extends ToolDetails {
  name: string;
  /** `<tool>_mcp_<server>`: LibreChat's plugin key. */
  pluginKey: string;
  description: string;
}

/** One server in the REST listing (LibreChat's shape). */
export interface ListedServer {
  name: string;
  icon: string;
  authenticated: boolean;
  authConfig: UserVarField[];
  tools: ListedTool[];
}

/** LibreChat's separator between tool and server in a plugin key. */
export const PLUGIN_KEY_DELIMITER = '_mcp_';

/** What the REST listing needs from the upstream service. */
export interface CatalogUpstreams {
  keyFor(caller: Identity, server: RegisteredServer): string;
  isAuthenticated(caller: Identity, server: RegisteredServer): Promise<boolean>;
  status(caller: Identity, server: RegisteredServer): { connectionState: ConnectionState };
  connect(caller: Identity, server: RegisteredServer): Promise<{ key: string; connection: ToolSource }>;
}

/** What {@link listCatalog} reads. */
export interface CatalogDeps {
  registry: ServerRegistry;
  tools: ToolCache;
  upstreams: CatalogUpstreams;
}

/**
 * The caller's known tools of one server: the shared list when it was listed from this server,
 * else (lost with the KV, its TTL lapsed, or listed from an earlier server of this name) the list
 * of the caller's live connection on this instance. Taking that connection checks
 * it against the current config; a server without one is listed without tools (never connected).
 */
async function knownTools(
  deps: CatalogDeps,
  caller: Identity,
  server: RegisteredServer,
): Promise<CachedTool[]> {
  const shared = await deps.tools.get(deps.upstreams.keyFor(caller, server), server);
  if (shared !== null) return shared;
  if (deps.upstreams.status(caller, server).connectionState !== 'connected') return [];
  try {
    const live = await deps.upstreams.connect(caller, server);
    return await deps.tools.fromConnection(live.key, live.connection, server);
  } catch {
    return []; // it dropped meanwhile: as a server not connected
  }
}

/**
 * Lists the caller's servers with whatever tools are known, without opening a connection: the
 * shared lists, or for a server whose list is missing, this instance's live connection.
 */
export async function listCatalog(
  deps: CatalogDeps,
  caller: Identity,
): Promise<Record<string, ListedServer>> {
  const servers = await deps.registry.list(caller);
  const entries = await Promise.all(
    servers.map(async (server): Promise<[string, ListedServer]> => {
      const fields = userVarFields(server.config);
      const authenticated = await deps.upstreams.isAuthenticated(caller, server);
      // A server whose tools are not known yet (never connected, or not authorised) is listed without tools.
      const cached = authenticated ? await knownTools(deps, caller, server) : [];
      return [
        server.name,
        {
          name: server.name,
          icon: server.config.iconPath ?? '',
          authenticated,
          authConfig: fields,
          tools: cached.map((t) => ({
            name: t.name,
            pluginKey: `${t.name}${PLUGIN_KEY_DELIMITER}${server.name}`,
            description: t.description ?? '',
            ...toolDetails(t),
          })),
        },
      ];
    }),
  );
  return Object.fromEntries(entries);
}
