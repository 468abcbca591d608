import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HubError } from '../../errors/index.js';
import { userVarFields, type RegisteredServer } from '../../registry/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';
import type { McpRouteOptions } from './mcp-tools-routes.js';

const flagsResponse = z.object({
  success: z.literal(true),
  serverName: z.string(),
  authValueFlags: z.record(z.string(), z.boolean()),
});
const serverNameParams = z.object({ serverName: z.string() });

/** A value goes into a header or URL upstream: bounded, and no line breaks (header injection). */
const valueSchema = z
  .string()
  .max(8192)
  .refine((v) => !/[\r\n\0]/.test(v), 'must not contain line breaks');

function flags(server: RegisteredServer, values: Readonly<Record<string, string>>): Record<string, boolean> {
  return Object.fromEntries(
    userVarFields(server.config).map((f) => [
      f.authField,
      Object.hasOwn(values, f.authField) && Boolean(values[f.authField]),
    ]),
  );
}

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
        body: z.strictObject({ values: z.record(z.string().max(128), valueSchema) }),
        response: { 200: flagsResponse },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const server = await options.registry.get(request.params.serverName, caller);
      const known = new Set(userVarFields(server.config).map((f) => f.authField));
      const unknown = Object.keys(request.body.values).filter((name) => !known.has(name));
      if (unknown.length > 0) {
        throw new HubError('HUB_ERR_VALIDATION', {
          message: `Unknown variable${unknown.length > 1 ? 's' : ''} for '${server.name}': ${unknown.map((n) => JSON.stringify(n)).join(', ')}`,
          details: {
            errors: unknown.map((n) => ({
              path: `body.values.${n}`,
              message: 'not a variable of this server',
            })),
          },
        });
      }
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
