import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HubError } from '../../errors/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';
import type { McpRouteOptions } from './mcp-tools-routes.js';
import {
  assertKnownUserVars,
  authValueFlags,
  userVarNameSchema,
  userVarValueSchema,
} from './user-vars-input.js';

/** LibreChat names an MCP server's variables as the plugin `mcp_<server>`. */
const MCP_PLUGIN_PREFIX = 'mcp_';

const body = z.strictObject({
  pluginKey: z.string().min(1).max(300),
  action: z.enum(['install', 'uninstall']),
  // LibreChat sends null (or an empty string) for a field the user cleared: both remove that variable.
  auth: z.record(userVarNameSchema, userVarValueSchema.nullable()).nullable().optional(),
  isEntityTool: z.boolean().optional(),
});

const response = z.object({
  success: z.literal(true),
  serverName: z.string(),
  authValueFlags: z.record(z.string(), z.boolean()),
});

/**
 * `POST /api/user/plugins`: LibreChat's way of saving a user's variables for an MCP server
 * (`pluginKey: mcp_<server>`). The same store and the same checks as
 * `PUT`/`DELETE /api/mcp/:serverName/auth-values`; `install` merges the given values, `uninstall`
 * removes all of the caller's values for that server. Other plugins do not exist here.
 */
export const userPluginsRoutes: FastifyPluginAsyncZod<McpRouteOptions> = async (app, options) => {
  requireIdentity(app, options.identity);

  app.post(
    '/api/user/plugins',
    { schema: { tags: ['mcp'], body, response: { 200: response } } },
    async (request) => {
      const caller = callerOf(request);
      const { pluginKey, action, auth } = request.body;
      if (!pluginKey.startsWith(MCP_PLUGIN_PREFIX) || pluginKey.length === MCP_PLUGIN_PREFIX.length) {
        throw new HubError('HUB_ERR_VALIDATION', {
          message: `Only MCP servers' variables are stored here: pluginKey must be 'mcp_<server name>'`,
          details: { errors: [{ path: 'body.pluginKey', message: "must be 'mcp_<server name>'" }] },
        });
      }
      const server = await options.registry.get(pluginKey.slice(MCP_PLUGIN_PREFIX.length), caller);
      if (action === 'uninstall') {
        await options.userVars.clear(caller.userId, server.name);
        await options.upstreams.forgetCaller(caller, server);
        return {
          success: true as const,
          serverName: server.name,
          authValueFlags: authValueFlags(server, {}),
        };
      }
      const given = auth ?? {};
      assertKnownUserVars(server, given, 'body.auth');
      const values = Object.fromEntries(Object.entries(given).map(([name, value]) => [name, value ?? '']));
      // Bound to where the server sends them now, exactly as the auth-values route stores them.
      const stored = await options.userVars.merge(caller.userId, server, values);
      await options.upstreams.forgetCaller(caller, server);
      return {
        success: true as const,
        serverName: server.name,
        authValueFlags: authValueFlags(server, stored),
      };
    },
  );
};
