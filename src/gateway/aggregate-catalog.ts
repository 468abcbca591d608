import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import type { Logger } from '../observability/index.js';
import type { RegisteredServer, ServerRegistry } from '../registry/index.js';
import type { ToolCache } from '../tools/index.js';
import { mayActFor, type UpstreamService } from '../upstreams/index.js';
import { exposedName } from './names.js';

/**
 * One tool as a downstream client sees it: an upstream's own, or the hub's `<server>__authorize`
 * standing in for the tools of a server the caller has not authorized yet.
 */
export interface AggregatedTool {
  exposed: string;
  server: RegisteredServer;
  tool: Tool;
  kind: 'upstream' | 'authorize';
}

/** The name of the stand-in tool; a server's own tools replace it once authorized. */
export const AUTHORIZE_TOOL = 'authorize';

/** The stand-in for the tools of an OAuth server the caller has not authorized. */
function authorizeTool(server: RegisteredServer): AggregatedTool {
  return {
    exposed: exposedName(server.name, AUTHORIZE_TOOL),
    server,
    kind: 'authorize',
    tool: {
      name: AUTHORIZE_TOOL,
      description: `Connect the MCP server '${server.name}': you approve access in a browser, then its tools appear here.`,
      inputSchema: { type: 'object', properties: {} },
      annotations: { readOnlyHint: false, openWorldHint: true },
    },
  };
}

/** What the aggregated endpoint needs from the rest of the hub. */
export interface GatewayDeps {
  registry: ServerRegistry;
  upstreams: UpstreamService;
  tools: ToolCache;
  logger: Logger;
}

/**
 * The caller's tools across every server they may use and have set up, as their `relay`
 * connections (the ones that can pass sampling and elicitation on) see them. Cached lists are used as
 * they are; a server without one is connected (the client asked for tools). An OAuth server the
 * caller has not authorized shows as `<server>__authorize` (when the caller may start its flow), and
 * a server that cannot be reached is left out rather than failing the whole list.
 */
export async function aggregateTools(deps: GatewayDeps, caller: Identity): Promise<AggregatedTool[]> {
  const servers = await deps.registry.list(caller);
  const perServer = await Promise.all(
    servers.map(async (server) => {
      try {
        if (!(await deps.upstreams.isAuthenticated(caller, server))) {
          // A shared authorization is an admin's to give; other users just do not see the server yet.
          const mayStart = mayActFor(deps.upstreams.tokenOwner(server, caller), caller);
          return deps.upstreams.requiresOAuth(server) && mayStart ? [authorizeTool(server)] : [];
        }
        const key = deps.upstreams.keyFor(caller, server, 'relay');
        let tools = await deps.tools.get(key);
        if (tools === null) {
          await deps.upstreams.connect(caller, server, 'relay');
          tools = (await deps.tools.get(key)) ?? [];
        }
        return tools.map((tool) => ({
          exposed: exposedName(server.name, tool.name),
          server,
          kind: 'upstream' as const,
          tool: { ...tool, name: tool.name, inputSchema: tool.inputSchema ?? { type: 'object' } } as Tool,
        }));
      } catch (err) {
        deps.logger.info({ err, server: server.name }, 'server left out of the aggregated tool list');
        return [];
      }
    }),
  );
  return perServer.flat();
}
