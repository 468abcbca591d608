import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import type { Logger } from '../observability/index.js';
import type { RegisteredServer, ServerRegistry } from '../registry/index.js';
import type { ToolCache } from '../tools/index.js';
import type { UpstreamService } from '../upstreams/index.js';
import { exposedName } from './names.js';

/** One upstream tool as a downstream client sees it. */
export interface AggregatedTool {
  exposed: string;
  server: RegisteredServer;
  tool: Tool;
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
 * they are; a server without one is connected (the client asked for tools), and a server that
 * cannot be reached or is not authorized yet is left out rather than failing the whole list.
 */
export async function aggregateTools(deps: GatewayDeps, caller: Identity): Promise<AggregatedTool[]> {
  const servers = await deps.registry.list(caller);
  const perServer = await Promise.all(
    servers.map(async (server) => {
      try {
        if (!(await deps.upstreams.isAuthenticated(caller, server))) return [];
        const key = deps.upstreams.keyFor(caller, server, 'relay');
        let tools = await deps.tools.get(key);
        if (tools === null) {
          await deps.upstreams.connect(caller, server, 'relay');
          tools = (await deps.tools.get(key)) ?? [];
        }
        return tools.map((tool) => ({
          exposed: exposedName(server.name, tool.name),
          server,
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
