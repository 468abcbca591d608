import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccountsService } from '../../accounts/index.js';
import type { IdentityService } from '../../auth/index.js';
import { HubError } from '../../errors/index.js';
import type { AuditLog } from '../../servers/index.js';
import type { AuditFilter } from '../../store/index.js';
import type { ServerHealthService } from '../../upstreams/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';
import { adminHealthRoutes } from './admin-health-routes.js';

/** Services the admin routes call. */
export interface AdminRouteOptions {
  identity: IdentityService;
  audit: AuditLog;
  accounts: AccountsService;
  /** Behind `GET /api/admin/servers/health`; without it that route is absent. */
  health?: ServerHealthService | undefined;
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
  actorEmail: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});

/** Epoch milliseconds, as the audit log records time. */
const epochMs = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a time in milliseconds since 1970` })
    .int(`${name} must be a whole number of milliseconds`)
    .min(0, `${name} must not be negative`)
    .max(8_640_000_000_000_000, `${name} is too far in the future`)
    .optional();

const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().max(400).optional(),
  action: z
    .string()
    .trim()
    .regex(
      /^[a-z0-9_.]{1,64}\*?$/,
      "action is an action name such as 'server.create', or a prefix ending in '.' or '*' such as 'server.'",
    )
    .optional(),
  actorId: z.string().trim().min(1, 'actorId must not be empty').max(255).optional(),
  targetType: z.string().trim().min(1, 'targetType must not be empty').max(64).optional(),
  targetId: z.string().trim().min(1, 'targetId must not be empty').max(255).optional(),
  since: epochMs('since'),
  until: epochMs('until'),
});

/** The store's filter from the query: `server.` and `server.*` both mean every `server.` action. */
function toAuditFilter(query: Omit<z.output<typeof auditQuery>, 'limit' | 'after'>): AuditFilter {
  const { action, since, until } = query;
  if (since !== undefined && until !== undefined && since > until) {
    throw new HubError('HUB_ERR_BAD_REQUEST', { message: 'since must not be later than until' });
  }
  const prefix = action !== undefined && (action.endsWith('.') || action.endsWith('*'));
  return {
    ...query,
    action: action === undefined ? undefined : { value: prefix ? action.replace(/\*$/, '') : action, prefix },
  };
}

/**
 * `GET /api/admin/servers/health` (see `adminHealthRoutes`); `GET /api/admin/audit`: the audit log, newest first, narrowed by action (exact or prefix), actor,
 * target and time range; `/api/admin/users…`: list accounts, change
 * role or disabled state, remove. Admins only (403 otherwise).
 */
export const adminRoutes: FastifyPluginAsyncZod<AdminRouteOptions> = async (app, options) => {
  requireIdentity(app, options.identity);
  if (options.health) await app.register(adminHealthRoutes, { health: options.health });

  app.get(
    '/api/admin/audit',
    {
      schema: {
        tags: ['admin'],
        querystring: auditQuery,
        response: { 200: z.object({ events: z.array(auditEvent), nextCursor: z.string().nullable() }) },
      },
    },
    async (request, reply) => {
      const { limit, after, ...filter } = request.query;
      const page = await options.audit.list(callerOf(request), {
        limit,
        after,
        filter: toAuditFilter(filter),
      });
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
