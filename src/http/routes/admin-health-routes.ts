import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServerHealthService } from '../../upstreams/index.js';
import { callerOf } from '../authenticate.js';

/** The service the server-health route calls. */
export interface AdminHealthRouteOptions {
  health: ServerHealthService;
}

const counts = z.object({
  connected: z.number().int(),
  connecting: z.number().int(),
  error: z.number().int(),
  usersConnected: z.number().int(),
});

const serverHealth = z.object({
  name: z.string(),
  source: z.enum(['yaml', 'db']),
  type: z.string(),
  scope: z.enum(['app', 'user']),
  owner: z.object({ id: z.string(), email: z.string().nullable() }).nullable(),
  requiresOAuth: z.boolean(),
  connections: counts,
  lastFailure: z.object({ message: z.string(), at: z.number(), count: z.number().int() }).nullable(),
  // An allowlist: the state, expiry and scope of the shared tokens, never the tokens.
  sharedAuthorization: z
    .object({
      state: z.enum(['authorized', 'expiring', 'needs_auth', 'none']),
      expiresAt: z.number().nullable(),
      scope: z.string().nullable(),
    })
    .nullable(),
});

/**
 * `GET /api/admin/servers/health`: every registered server (the file's and users') with this
 * instance's connection counts by state, its last connect failure and, for a shared
 * authorization, where it stands. Admins only (403 otherwise). Registered by `adminRoutes`, whose
 * authentication hook it inherits (on its own, every request is a 401).
 */
export const adminHealthRoutes: FastifyPluginAsyncZod<AdminHealthRouteOptions> = async (app, options) => {
  app.get(
    '/api/admin/servers/health',
    {
      schema: {
        tags: ['admin'],
        response: {
          200: z.object({
            countsFrom: z.literal('instance'),
            servers: z.array(serverHealth),
            truncated: z.boolean(),
          }),
        },
      },
    },
    async (request) => options.health.report(callerOf(request)),
  );
};
