import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import type { Logger } from '../observability/index.js';
import type { RegisteredServer, ServerRegistry } from '../registry/index.js';
import type { CachedTool, ToolCache } from '../tools/index.js';
import { mayActFor, type UpstreamService } from '../upstreams/index.js';
import { assignExposedNames } from './names.js';
import { refOf, trustOf, type ServerRef } from './server-ref.js';

/**
 * What an exposed tool name stands for: an upstream's own tool, or the hub's `<server>__authorize`
 * standing in for the tools of a server the caller has not authorized yet.
 */
export interface ToolBinding {
  server: ServerRef;
  /** The tool's name on its upstream. */
  toolName: string;
  kind: 'upstream' | 'authorize';
}

/** One tool as a downstream client sees it, and what its name stands for. */
export interface CatalogTool {
  exposed: string;
  binding: ToolBinding;
  tool: Tool;
}

/** The name of the stand-in tool; a server's own tools replace it once authorized. */
export const AUTHORIZE_TOOL = 'authorize';

/** The stand-in for the tools of an OAuth server the caller has not authorized. */
function authorizeTool(server: RegisteredServer): Tool {
  return {
    name: AUTHORIZE_TOOL,
    description: `Connect the MCP server '${server.name}': you approve access in a browser, then its tools appear here.`,
    inputSchema: { type: 'object', properties: {} },
    annotations: { readOnlyHint: false, openWorldHint: true },
  };
}

/** What the aggregated endpoint needs from the rest of the hub. */
export interface GatewayDeps {
  registry: ServerRegistry;
  upstreams: UpstreamService;
  tools: ToolCache;
  logger: Logger;
  /**
   * Where listings connect when the shared tool list is missing, when `upstreams` gives a session
   * connections of its own (session-upstreams.ts): a listing must not open one per session.
   */
  sharedUpstreams?: UpstreamService;
}

/** One server's tools before naming. */
interface ServerTools {
  server: RegisteredServer;
  kind: ToolBinding['kind'];
  tools: Tool[];
}

/**
 * The tools of one server the caller may use, as their `relay` connection (the one that can pass
 * sampling and elicitation on) sees them: the shared list as it is, else the live connection's
 * own (connecting if needed: the client asked for tools). An OAuth server the caller has not authorized offers `authorize` (when the
 * caller may start its flow); a server that cannot be reached offers nothing.
 */
async function toolsOf(deps: GatewayDeps, caller: Identity, server: RegisteredServer): Promise<ServerTools> {
  try {
    if (!(await deps.upstreams.isAuthenticated(caller, server))) {
      // A shared authorization is an admin's to give; other users just do not see the server yet.
      const mayStart = mayActFor(deps.upstreams.tokenOwner(server, caller), caller);
      const offer = deps.upstreams.requiresOAuth(server) && mayStart;
      return { server, kind: 'authorize', tools: offer ? [authorizeTool(server)] : [] };
    }
    const shared = deps.sharedUpstreams ?? deps.upstreams;
    const key = deps.upstreams.keyFor(caller, server, 'relay');
    // A session with a connection of its own to the server lists that one's tools (a server may
    // change its tools for one session); a listing alone never opens such a connection.
    const own = key !== shared.keyFor(caller, server, 'relay');
    let tools: CachedTool[] | null;
    if (own) {
      const opened = await deps.upstreams.connect(caller, server, 'relay');
      tools = await deps.tools.ofConnection(opened.connection);
    } else {
      tools = await deps.tools.get(key, server);
      if (tools === null) {
        // No shared copy (never listed, or lost with the KV): the live connection's own list.
        const opened = await shared.connect(caller, server, 'relay');
        tools = await deps.tools.fromConnection(opened.key, opened.connection, server);
      }
    }
    return {
      server,
      kind: 'upstream',
      // The cache keeps what an upstream's tools/list said; the schema defaults as MCP requires one.
      tools: tools.map((tool) => ({ ...tool, inputSchema: tool.inputSchema ?? { type: 'object' } }) as Tool),
    };
  } catch (err) {
    deps.logger.info({ err, server: server.name }, 'server left out of the aggregated tool list');
    return { server, kind: 'upstream', tools: [] };
  }
}

/**
 * The caller's tools across every server they may use, each under a name of its own: names are
 * assigned over the whole catalog, so no two tools share one and no tool of a server shared by
 * another user can take the name of one of the caller's own or the admin's. Each comes with what
 * its name stands for (server and upstream tool name, never the server's config).
 */
export async function toolCatalog(deps: GatewayDeps, caller: Identity): Promise<CatalogTool[]> {
  const servers = await deps.registry.list(caller);
  const perServer = await Promise.all(servers.map((server) => toolsOf(deps, caller, server)));
  const items = perServer.flatMap(({ server, kind, tools }) =>
    tools.map((tool) => ({
      serverName: server.name,
      name: tool.name,
      trust: trustOf(server, caller),
      binding: { server: refOf(server), toolName: tool.name, kind },
      tool,
    })),
  );
  const { named, dropped } = assignExposedNames(items);
  for (const item of dropped) {
    deps.logger.warn({ server: item.serverName }, 'tool left out of the aggregated list: no name of its own');
  }
  return [...named].map(([exposed, item]) => ({
    exposed,
    binding: item.binding,
    tool: { ...item.tool, name: exposed },
  }));
}
