import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isHubError } from '../../errors/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';
import type { McpRouteOptions } from './mcp-tools-routes.js';
import { mayActFor } from '../../upstreams/index.js';

const stateSchema = z.enum(['connected', 'connecting', 'disconnected', 'error']);
const serverNameParams = z.object({ serverName: z.string() });

/** Status, reinitialize and disconnect (LibreChat's `{error}` body shape). */
export const mcpConnectionRoutes: FastifyPluginAsyncZod<McpRouteOptions> = async (app, options) => {
  requireIdentity(app, options.identity);

  app.get(
    '/api/mcp/connection/status',
    {
      config: { errorKey: 'error' },
      schema: {
        tags: ['mcp'],
        response: {
          200: z.object({
            success: z.literal(true),
            connectionStatus: z.record(
              z.string(),
              z.object({
                connectionState: stateSchema,
                requiresOAuth: z.boolean(),
                error: z.string().optional(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const servers = await options.registry.list(caller);
      const connectionStatus = Object.fromEntries(
        servers.map((s) => [s.name, options.upstreams.status(caller, s)]),
      );
      return { success: true as const, connectionStatus };
    },
  );

  app.get(
    '/api/mcp/connection/status/:serverName',
    {
      config: { errorKey: 'error' },
      schema: {
        tags: ['mcp'],
        params: serverNameParams,
        response: {
          200: z.object({
            success: z.literal(true),
            serverName: z.string(),
            connectionStatus: stateSchema,
            requiresOAuth: z.boolean(),
          }),
        },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const server = await options.registry.get(request.params.serverName, caller);
      const status = options.upstreams.status(caller, server);
      return {
        success: true as const,
        serverName: server.name,
        connectionStatus: status.connectionState,
        requiresOAuth: status.requiresOAuth,
      };
    },
  );

  app.post(
    '/api/mcp/:serverName/reinitialize',
    {
      config: { errorKey: 'error' },
      schema: {
        tags: ['mcp'],
        params: serverNameParams,
        response: {
          200: z.object({
            success: z.boolean(),
            message: z.string(),
            oauthUrl: z.string().nullable(),
            serverName: z.string(),
            oauthRequired: z.boolean(),
          }),
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const server = await options.registry.get(request.params.serverName, caller);
      try {
        try {
          await options.upstreams.reinitialize(caller, server);
        } catch (err) {
          if (!isHubError(err, 'HUB_ERR_OAUTH_REQUIRED')) throw err;
          const started = await options.authorization.start(caller, server);
          options.cookies.bind(reply, started.flowId, server.name);
          options.cookies.session(reply, caller.userId);
          return {
            success: true,
            message: `MCP server '${server.name}' ready for OAuth authentication`,
            oauthUrl: started.oauthUrl,
            serverName: server.name,
            oauthRequired: true,
          };
        }
        return {
          success: true,
          message: `MCP server '${server.name}' reinitialized successfully`,
          oauthUrl: null,
          serverName: server.name,
          oauthRequired: false,
        };
      } catch (err) {
        // Values the user must set are their problem to fix (400); an unreachable server is reported, not thrown.
        if (!isHubError(err) || err.status < 500) throw err;
        request.log.warn({ err, server: server.name }, 'reinitialize failed');
        return {
          success: false,
          message: `Failed to reinitialize MCP server '${server.name}'`,
          oauthUrl: null,
          serverName: server.name,
          oauthRequired: false,
        };
      }
    },
  );

  app.post(
    '/api/mcp/:serverName/disconnect',
    {
      config: { errorKey: 'error' },
      schema: {
        tags: ['mcp'],
        params: serverNameParams,
        querystring: z.object({
          revoke: z
            .enum(['true', 'false'])
            .transform((v) => v === 'true')
            .optional(),
        }),
        response: { 200: z.object({ success: z.literal(true), message: z.string() }) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const server = await options.registry.get(request.params.serverName, caller);
      const closed = await options.upstreams.disconnect(caller, server);
      const owner = options.upstreams.tokenOwner(server, caller);
      // Revoking a shared authorization is an admin's act; a user's revoke touches only their own tokens.
      if (request.query.revoke && options.upstreams.requiresOAuth(server) && mayActFor(owner, caller)) {
        // RFC 7009 at the AS when it has an endpoint, then the tokens are gone from the hub.
        await options.oauth.revoke({
          userId: owner,
          serverName: server.name,
          serverUrl: await options.upstreams.serverUrlFor(caller, server),
          config: server.config,
        });
        if (owner === caller.userId) await options.upstreams.forgetCaller(caller, server);
        else await options.upstreams.disconnectApp(server);
        return {
          success: true as const,
          message: `Disconnected from MCP server '${server.name}' and revoked its tokens`,
        };
      }
      return {
        success: true as const,
        message: closed
          ? `Disconnected from MCP server '${server.name}'`
          : `No open connection to MCP server '${server.name}'`,
      };
    },
  );
};
