import type { Identity } from '../auth/index.js';
import {
  userVarFields,
  type RegisteredServer,
  type ServerRegistry,
  type UserVarField,
} from '../registry/index.js';
import type { ToolCache } from './tool-cache.js';
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

/** Lists the caller's servers with whatever tools are known, without connecting anything. */
export async function listCatalog(
  deps: {
    registry: ServerRegistry;
    tools: ToolCache;
    upstreams: {
      keyFor(caller: Identity, server: RegisteredServer): string;
      isAuthenticated(caller: Identity, server: RegisteredServer): Promise<boolean>;
    };
  },
  caller: Identity,
): Promise<Record<string, ListedServer>> {
  const servers = await deps.registry.list(caller);
  const entries = await Promise.all(
    servers.map(async (server): Promise<[string, ListedServer]> => {
      const fields = userVarFields(server.config);
      const authenticated = await deps.upstreams.isAuthenticated(caller, server);
      // A server whose tools are not known yet (never connected, or not authorised) is listed without tools.
      const cached = authenticated
        ? ((await deps.tools.get(deps.upstreams.keyFor(caller, server))) ?? [])
        : [];
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
