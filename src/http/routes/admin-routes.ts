import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IdentityService } from '../../auth/index.js';
import type { AuditLog } from '../../servers/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';

/** Services the admin routes call. */
export interface AdminRouteOptions {
  identity: IdentityService;
  audit: AuditLog;
}

const auditEvent = z.object({
  id: z.string(),
  at: z.number(),
  actorId: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});

/** `GET /api/admin/audit`: the audit log, newest first, for admins (issue 5 item 4). */
export const adminRoutes: FastifyPluginAsyncZod<AdminRouteOptions> = async (app, options) => {
  requireIdentity(app, options.identity);

  app.get(
    '/api/admin/audit',
    {
      schema: {
        tags: ['admin'],
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(100).default(20),
          after: z.string().max(400).optional(),
        }),
        response: { 200: z.object({ events: z.array(auditEvent), nextCursor: z.string().nullable() }) },
      },
    },
    async (request, reply) => {
      const page = await options.audit.list(callerOf(request), request.query);
      if (page.nextCursor !== null) void reply.header('x-next-cursor', page.nextCursor);
      return page;
    },
  );
};
