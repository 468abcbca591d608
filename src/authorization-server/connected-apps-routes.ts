import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IdentityService } from '../auth/index.js';
import { HubError } from '../errors/index.js';
import { callerOf, requireIdentity } from '../http/index.js';
import type { ConnectedApps } from './connected-apps.js';

/** What the connected-apps routes call. */
export interface ConnectedAppsRouteOptions {
  identity: IdentityService;
  apps: ConnectedApps;
}

/** An authorized client as a response may show it (an allowlist: no token or grant id ever leaves). */
const connectedAppSchema = z.object({
  clientId: z.string(),
  clientName: z.string().nullable(),
  redirectHosts: z.array(z.string()),
  resources: z.record(z.string(), z.string()),
  authorizedAt: z.string(),
});

/**
 * `GET /api/auth/clients`: the MCP clients the caller authorized through the hub's authorization
 * server. `DELETE /api/auth/clients/:clientId`: revokes that client's grants and tokens for the
 * caller only. Session (with its CSRF header) or bearer token, like the rest of the API.
 */
export const connectedAppsRoutes: FastifyPluginAsyncZod<ConnectedAppsRouteOptions> = async (app, options) => {
  requireIdentity(app, options.identity);

  app.get(
    '/api/auth/clients',
    { schema: { tags: ['auth'], response: { 200: z.object({ clients: z.array(connectedAppSchema) }) } } },
    async (request) => {
      const apps = await options.apps.list(callerOf(request).userId);
      return {
        clients: apps.map((each) => ({ ...each, authorizedAt: new Date(each.authorizedAt).toISOString() })),
      };
    },
  );

  app.delete(
    '/api/auth/clients/:clientId',
    {
      schema: {
        tags: ['auth'],
        params: z.object({ clientId: z.string().min(1).max(2048) }),
        response: { 200: z.object({ revoked: z.literal(true) }) },
      },
    },
    async (request) => {
      const revoked = await options.apps.revoke(callerOf(request).userId, request.params.clientId);
      if (!revoked) throw new HubError('HUB_ERR_NOT_FOUND', { message: 'No authorization of this client' });
      return { revoked: true as const };
    },
  );
};
