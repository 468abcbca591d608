import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf, requireIdentity } from '../authenticate.js';
import type { McpRouteOptions } from './mcp-tools-routes.js';
import {
  assertKnownUserVars,
  authValueFlags as flags,
  userVarNameSchema,
  userVarValueSchema,
} from './user-vars-input.js';

const flagsResponse = z.object({
  success: z.literal(true),
  serverName: z.string(),
  authValueFlags: z.record(z.string(), z.boolean()),
});
const serverNameParams = z.object({ serverName: z.string() });

/** `GET`, `PUT`, `DELETE /api/mcp/:serverName/auth-values`: the caller's custom variables, never echoed. */
export const mcpAuthValuesRoutes: FastifyPluginAsyncZod<McpRouteOptions> = async (app, options) => {
  requireIdentity(app, options.identity);

  app.get(
    '/api/mcp/:serverName/auth-values',
    {
      config: { errorKey: 'error' },
      schema: { tags: ['mcp'], params: serverNameParams, response: { 200: flagsResponse } },
    },
    async (request) => {
      const caller = callerOf(request);
      const server = await options.registry.get(request.params.serverName, caller);
      const values = await options.userVars.get(caller.userId, server);
      return { success: true as const, serverName: server.name, authValueFlags: flags(server, values) };
    },
  );

  app.put(
    '/api/mcp/:serverName/auth-values',
    {
      config: { errorKey: 'error' },
      schema: {
        tags: ['mcp'],
        params: serverNameParams,
        body: z.strictObject({ values: z.record(userVarNameSchema, userVarValueSchema) }),
        response: { 200: flagsResponse },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const server = await options.registry.get(request.params.serverName, caller);
      assertKnownUserVars(server, request.body.values, 'body.values');
      // Bound to where the server sends them now: a later change of destination makes them unset.
      const values = await options.userVars.merge(caller.userId, server, request.body.values);
      await options.upstreams.forgetCaller(caller, server);
      return { success: true as const, serverName: server.name, authValueFlags: flags(server, values) };
    },
  );

  app.delete(
    '/api/mcp/:serverName/auth-values',
    {
      config: { errorKey: 'error' },
      schema: { tags: ['mcp'], params: serverNameParams, response: { 200: flagsResponse } },
    },
    async (request) => {
      const caller = callerOf(request);
      const server = await options.registry.get(request.params.serverName, caller);
      await options.userVars.clear(caller.userId, server.name);
      await options.upstreams.forgetCaller(caller, server);
      return { success: true as const, serverName: server.name, authValueFlags: flags(server, {}) };
    },
  );
};
