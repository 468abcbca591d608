import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccountsService } from '../../accounts/index.js';
import type { IdentityService } from '../../auth/index.js';
import type { AuditLog } from '../../servers/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';

/** Services the admin routes call. */
export interface AdminRouteOptions {
  identity: IdentityService;
  audit: AuditLog;
  accounts: AccountsService;
}

const account = z.object({
  id: z.string(),
  email: z.string(),
  role: z.enum(['USER', 'ADMIN']),
  disabled: z.boolean(),
  disabledAt: z.number().nullable(),
  hasPassword: z.boolean(),
  origin: z.enum(['local', 'external', 'legacy']),
  identities: z.array(z.object({ issuer: z.string(), subject: z.string() })),
  createdAt: z.number(),
  updatedAt: z.number(),
});

const userParams = z.object({ userId: z.string().min(1).max(255) });

const auditEvent = z.object({
  id: z.string(),
  at: z.number(),
  actorId: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});

/**
 * `GET /api/admin/audit`: the audit log, newest first; `/api/admin/users…`: list accounts, change
 * role or disabled state, remove. Admins only (403 otherwise).
 */
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

  app.get(
    '/api/admin/users',
    {
      schema: {
        tags: ['admin'],
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(100).default(50),
          after: z.string().max(400).optional(),
          email: z.string().trim().min(1).max(320).optional(),
        }),
        response: { 200: z.object({ users: z.array(account), nextCursor: z.string().nullable() }) },
      },
    },
    async (request) => options.accounts.list(callerOf(request), request.query),
  );

  app.get(
    '/api/admin/users/:userId',
    { schema: { tags: ['admin'], params: userParams, response: { 200: account } } },
    async (request) => options.accounts.get(callerOf(request), request.params.userId),
  );

  app.patch(
    '/api/admin/users/:userId',
    {
      schema: {
        tags: ['admin'],
        params: userParams,
        body: z
          .strictObject({ role: z.enum(['USER', 'ADMIN']).optional(), disabled: z.boolean().optional() })
          .refine((b) => b.role !== undefined || b.disabled !== undefined, {
            message: 'Give role, disabled, or both',
          }),
        response: { 200: account },
      },
    },
    async (request) => options.accounts.update(callerOf(request), request.params.userId, request.body),
  );

  app.delete(
    '/api/admin/users/:userId',
    {
      schema: {
        tags: ['admin'],
        params: userParams,
        response: {
          200: z.object({
            id: z.string(),
            email: z.string(),
            credentials: z.number(),
            grants: z.number(),
            groupMemberships: z.number(),
          }),
        },
      },
    },
    async (request) => options.accounts.remove(callerOf(request), request.params.userId),
  );
};
