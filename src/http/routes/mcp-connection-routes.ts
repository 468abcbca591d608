import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isHubError } from '../../errors/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';
import { routeRateLimit } from '../rate-limits.js';
import type { McpRouteOptions } from './mcp-tools-routes.js';
import { mayActFor } from '../../upstreams/index.js';

const stateSchema = z.enum(['connected', 'connecting', 'disconnected', 'error']);
const serverNameParams = z.object({ serverName: z.string() });

/** Why a reinitialize did not connect, in LibreChat's words. */
const failureReasonSchema = z.enum([
  'unreachable',
  'missing_custom_user_vars',
  'oauth_required',
  'initialization_failed',
]);

const reinitializeAnswer = z.object({
  success: z.boolean(),
  message: z.string(),
  oauthUrl: z.string().nullable(),
  serverName: z.string(),
  oauthRequired: z.boolean(),
  flowId: z.string().optional(),
  /** Milliseconds left to complete the authorization this answer started. */
  oauthTimeout: z.number().int().nonnegative().optional(),
  failureReason: failureReasonSchema.optional(),
  missingUserVars: z.array(z.string()).optional(),
});

/** The answer of a reinitialize that did not connect. */
function failed(
  serverName: string,
  failureReason: z.infer<typeof failureReasonSchema>,
  message = `Failed to reinitialize MCP server '${serverName}'`,
): z.infer<typeof reinitializeAnswer> {
  return { success: false, message, oauthUrl: null, serverName, oauthRequired: false, failureReason };
}

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
      config: { errorKey: 'error', rateLimit: routeRateLimit('reinitialize') },
      schema: {
        tags: ['mcp'],
        params: serverNameParams,
        response: { 200: reinitializeAnswer },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const server = await options.registry.get(request.params.serverName, caller);
      const name = server.name;
      try {
        try {
          await options.upstreams.reinitialize(caller, server);
        } catch (err) {
          if (!isHubError(err, 'HUB_ERR_OAUTH_REQUIRED')) throw err;
          const started = await options.authorization.start(caller, server);
          options.cookies.bind(reply, started.flowId, name);
          return {
            success: true,
            message: `MCP server '${name}' ready for OAuth authentication`,
            oauthUrl: started.oauthUrl,
            serverName: name,
            oauthRequired: true,
            // LibreChat's client polls the flow's status with this id, for at most this long.
            flowId: started.flowId,
            oauthTimeout: started.oauthTimeout,
          };
        }
        return {
          success: true,
          message: `MCP server '${name}' reinitialized successfully`,
          oauthUrl: null,
          serverName: name,
          oauthRequired: false,
        };
      } catch (err) {
        // The caller's own missing values are an answer, not an error: the client opens its variables dialog.
        if (isHubError(err, 'HUB_ERR_MISSING_USER_VARS')) {
          const missing = err.details?.['missing'];
          return {
            ...failed(name, 'missing_custom_user_vars', err.message),
            missingUserVars: Array.isArray(missing) ? missing.filter((v) => typeof v === 'string') : [],
          };
        }
        // Other refusals (not found, forbidden) stay errors; an unreachable server is reported, not thrown.
        if (!isHubError(err) || err.status < 500) throw err;
        request.log.warn({ err, server: name }, 'reinitialize failed');
        const unreachable =
          isHubError(err, 'HUB_ERR_UPSTREAM_UNAVAILABLE') || isHubError(err, 'HUB_ERR_UPSTREAM_TIMEOUT');
        return failed(name, unreachable ? 'unreachable' : 'initialization_failed');
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
