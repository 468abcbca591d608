import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IdentityService } from '../../auth/index.js';
import type { UserVarsStore } from '../../credentials/index.js';
import type { ServerRegistry } from '../../registry/index.js';
import { callTool, listCatalog, type ToolCache } from '../../tools/index.js';
import type { OAuthService } from '../../oauth/index.js';
import {
  forwardableHeaders,
  type AuthorizationStarter,
  type UpstreamService,
} from '../../upstreams/index.js';
import type { OAuthCookies } from '../oauth-cookies.js';
import { isHubError } from '../../errors/index.js';
import { flowIdFor } from '../../oauth/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';

/** Services the MCP routes call. */
export interface McpRouteOptions {
  identity: IdentityService;
  registry: ServerRegistry;
  upstreams: UpstreamService;
  userVars: UserVarsStore;
  tools: ToolCache;
  oauth: OAuthService;
  authorization: AuthorizationStarter;
  cookies: OAuthCookies;
  /** PUBLIC_URL: where the callback sends the browser afterwards. */
  publicUrl: string;
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
    async (request) => ({ servers: await listCatalog(options, callerOf(request)) }),
  );

  app.post(
    '/api/mcp/:serverName/tools/:toolName/call',
    {
      config: { errorKey: 'error' },
      schema: {
        tags: ['mcp'],
        params: z.object({ serverName: z.string(), toolName: toolNameSchema }),
        // `?wait=N`: when the caller's authorization is pending, wait up to N seconds for it, then call.
        querystring: z.object({ wait: z.coerce.number().int().min(0).max(300).optional() }),
        body: z
          .strictObject({ arguments: z.record(z.string(), z.unknown()).default({}) })
          .default({ arguments: {} }),
        response: {
          200: callResultSchema,
          // Two 401s: OAuth needed (with the URL to open), or no valid bearer token.
          401: z.union([
            z.object({
              error: z.string(),
              code: z.string(),
              oauthRequired: z.literal(true),
              oauthUrl: z.string(),
              flowId: z.string(),
            }),
            z.object({ error: z.string(), code: z.string() }),
          ]),
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const server = await options.registry.get(request.params.serverName, caller);
      // The caller hanging up cancels the upstream call (the SDK sends notifications/cancelled).
      const abort = new AbortController();
      request.raw.once('close', () => {
        if (!request.raw.complete || request.raw.destroyed) abort.abort();
      });
      const run = () =>
        callTool(options.upstreams, caller, server, request.params.toolName, request.body.arguments, {
          signal: abort.signal,
          callHeaders: forwardableHeaders(request.headers),
        });
      try {
        return await run();
      } catch (err) {
        if (!isHubError(err, 'HUB_ERR_OAUTH_REQUIRED')) throw err;
      }
      const flowId = flowIdFor(options.upstreams.tokenOwner(server, caller), server.name);
      const waitSeconds = request.query.wait ?? 0;
      if (waitSeconds > 0 && (await options.oauth.flowStatus(flowId))?.status === 'PENDING') {
        const done = await options.oauth.waitForFlow(flowId, waitSeconds * 1000, abort.signal);
        if (done?.status === 'COMPLETED') return run();
      }
      const started = await options.authorization.start(caller, server);
      options.cookies.bind(reply, started.flowId, server.name);
      return reply.status(401).send({
        error: `MCP server '${server.name}' requires OAuth authentication`,
        code: 'HUB_ERR_OAUTH_REQUIRED',
        oauthRequired: true as const,
        oauthUrl: started.oauthUrl,
        flowId: started.flowId,
      });
    },
  );
};
