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
  principals: z.array(
    z.object({
      type: z.enum(['user', 'group']),
      id: z.string(),
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

/** `GET/PUT /api/mcp/servers/:serverName/permissions` (API.md; `{message}` errors like `/servers`). */
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
