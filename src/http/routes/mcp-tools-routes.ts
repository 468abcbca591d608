import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IdentityService } from '../../auth/index.js';
import type { UserVarsStore } from '../../credentials/index.js';
import type { ServerRegistry } from '../../registry/index.js';
import { callTool, listCatalog, type ToolCache } from '../../tools/index.js';
import { connectionKey, type UpstreamService } from '../../upstreams/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';

/** Services the MCP routes call. */
export interface McpRouteOptions {
  identity: IdentityService;
  registry: ServerRegistry;
  upstreams: UpstreamService;
  userVars: UserVarsStore;
  tools: ToolCache;
}

const listedServer = z.object({
  name: z.string(),
  icon: z.string(),
  authenticated: z.boolean(),
  authConfig: z.array(z.object({ authField: z.string(), label: z.string(), description: z.string() })),
  tools: z.array(z.object({ name: z.string(), pluginKey: z.string(), description: z.string() })),
});

/** MCP tool names (spec 2025-11-25: 1–128 of letters, digits, `_`, `-`, `.`), plus `/` and `:` seen in the wild. */
const toolNameSchema = z.string().regex(/^[A-Za-z0-9_.\-/:]{1,128}$/, 'invalid tool name');

const callResultSchema = z.looseObject({
  content: z.array(z.looseObject({ type: z.string() })),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
  isError: z.boolean().optional(),
});

/** `GET /api/mcp/tools` and `POST /api/mcp/:serverName/tools/:toolName/call`. */
export const mcpToolsRoutes: FastifyPluginAsyncZod<McpRouteOptions> = async (app, options) => {
  requireIdentity(app, options.identity);

  app.get(
    '/api/mcp/tools',
    {
      schema: { tags: ['mcp'], response: { 200: z.object({ servers: z.record(z.string(), listedServer) }) } },
    },
    async (request) => ({ servers: await listCatalog(options, callerOf(request), connectionKey) }),
  );

  app.post(
    '/api/mcp/:serverName/tools/:toolName/call',
    {
      config: { errorKey: 'error' },
      schema: {
        tags: ['mcp'],
        params: z.object({ serverName: z.string(), toolName: toolNameSchema }),
        body: z
          .strictObject({ arguments: z.record(z.string(), z.unknown()).default({}) })
          .default({ arguments: {} }),
        response: { 200: callResultSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const server = await options.registry.get(request.params.serverName, caller);
      // The caller hanging up cancels the upstream call (the SDK sends notifications/cancelled).
      const abort = new AbortController();
      request.raw.once('close', () => {
        if (!request.raw.complete || request.raw.destroyed) abort.abort();
      });
      return callTool(options.upstreams, caller, server, request.params.toolName, request.body.arguments, {
        signal: abort.signal,
      });
    },
  );
};
