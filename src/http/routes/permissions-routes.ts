import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IdentityService } from '../../auth/index.js';
import type { SharingService } from '../../servers/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';

/** Services the permissions routes call. */
export interface PermissionsRouteOptions {
  identity: IdentityService;
  sharing: SharingService;
}

const role = z.enum(['viewer', 'editor', 'owner']);
const publicRole = z.enum(['viewer', 'editor']).nullable();

const permissionsView = z.object({
  serverName: z.string(),
  owner: z.object({ id: z.string(), email: z.string().nullable() }),
  public: publicRole,
  // Users by address (an id only for the owner and for accounts that are gone): the list must read
  // the same whether or not a granted address has an account (V-13).
  principals: z.array(
    z.object({
      type: z.enum(['user', 'group']),
      id: z.string().optional(),
      email: z.string().optional(),
      role,
    }),
  ),
});

/** A user by `id` or `email`, a group by `id` or `name` (the service checks that exactly one is given). */
const principalInput = z.strictObject({
  type: z.enum(['user', 'group']),
  id: z.string().min(1).max(200).optional(),
  email: z.string().min(1).max(320).optional(),
  name: z.string().min(1).max(200).optional(),
  role,
});

const serverNameParams = z.object({ serverName: z.string() });

/**
 * `GET/PUT /api/mcp/servers/:serverName/permissions` (`{message}` errors like `/servers`). A PUT
 * answers alike for an address with an account and one without (V-13); unknown user ids, group ids
 * and group names are a 400 that names them (V-14).
 */
export const permissionsRoutes: FastifyPluginAsyncZod<PermissionsRouteOptions> = async (app, options) => {
  requireIdentity(app, options.identity);

  app.get(
    '/api/mcp/servers/:serverName/permissions',
    { schema: { tags: ['servers'], params: serverNameParams, response: { 200: permissionsView } } },
    async (request) => options.sharing.get(callerOf(request), request.params.serverName),
  );

  app.put(
    '/api/mcp/servers/:serverName/permissions',
    {
      schema: {
        tags: ['servers'],
        params: serverNameParams,
        body: z.strictObject({
          public: publicRole.optional(),
          principals: z.array(principalInput).max(500),
        }),
        response: { 200: permissionsView },
      },
    },
    async (request) => options.sharing.set(callerOf(request), request.params.serverName, request.body),
  );
};
