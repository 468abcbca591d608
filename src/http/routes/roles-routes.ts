import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  isRole,
  permissionsFor,
  type Identity,
  type IdentityService,
  type Role,
  type RolePermissionTable,
} from '../../auth/index.js';
import { HubError } from '../../errors/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';

/** What the role routes read: who calls, and the role permission table as configured. */
export interface RolesRouteOptions {
  identity: IdentityService;
  roles: RolePermissionTable;
}

/**
 * The permission groups LibreChat's role type requires beside `MCP_SERVERS`, all off: the hub has no
 * prompts, agents, memories or other features they switch, so a client must not offer them.
 */
const OTHER_PERMISSION_GROUPS: Readonly<Record<string, readonly string[]>> = {
  PROMPTS: ['USE', 'CREATE', 'SHARE', 'SHARE_PUBLIC'],
  BOOKMARKS: ['USE'],
  MEMORIES: ['USE', 'CREATE', 'UPDATE', 'READ', 'OPT_OUT'],
  AGENTS: ['USE', 'CREATE', 'SHARE', 'SHARE_PUBLIC'],
  MULTI_CONVO: ['USE'],
  TEMPORARY_CHAT: ['USE'],
  RUN_CODE: ['USE'],
  WEB_SEARCH: ['USE'],
  PEOPLE_PICKER: ['VIEW_USERS', 'VIEW_GROUPS', 'VIEW_ROLES'],
  MARKETPLACE: ['USE'],
  FILE_SEARCH: ['USE'],
  FILE_CITATIONS: ['USE'],
  REMOTE_AGENTS: ['USE', 'CREATE', 'SHARE', 'SHARE_PUBLIC'],
  SKILLS: ['USE', 'CREATE', 'SHARE', 'SHARE_PUBLIC'],
  SHARED_LINKS: ['CREATE', 'SHARE', 'SHARE_PUBLIC'],
  SCHEDULES: ['USE', 'CREATE'],
};

/** The hub's two roles, as LibreChat's role list names them. */
const ALL_ROLES: readonly { name: Role; description: string }[] = [
  { name: 'ADMIN', description: 'Administrators: every server, user and setting' },
  { name: 'USER', description: 'Users' },
];

const roleSchema = z.object({
  name: z.enum(['USER', 'ADMIN']),
  permissions: z.record(z.string(), z.record(z.string(), z.boolean())),
});

const roleParams = z.object({ roleName: z.string().min(1).max(64) });

/** A role in LibreChat's shape: its `MCP_SERVERS` bits as configured, every other group off. */
function roleView(role: Role, table: RolePermissionTable): z.output<typeof roleSchema> {
  const others = Object.fromEntries(
    Object.entries(OTHER_PERMISSION_GROUPS).map(([group, bits]) => [
      group,
      Object.fromEntries(bits.map((bit) => [bit, false])),
    ]),
  );
  // CONFIGURE_OBO: the hub has no on-behalf-of token exchange to configure.
  return {
    name: role,
    permissions: { ...others, MCP_SERVERS: { ...permissionsFor(role, table), CONFIGURE_OBO: false } },
  };
}

/** The named role, when the caller may read it: their own, or any for an admin. */
function readableRole(name: string, caller: Identity): Role {
  if (caller.role !== 'ADMIN' && name !== caller.role) {
    throw new HubError('HUB_ERR_FORBIDDEN', { message: 'Only administrators may read another role' });
  }
  if (!isRole(name)) throw new HubError('HUB_ERR_NOT_FOUND', { message: `Role '${name}' not found` });
  return name;
}

/**
 * `GET /api/admin/roles` (admins), `GET /api/roles/:roleName` (one's own role; any for admins) and
 * `PUT /api/roles/:roleName/mcp-servers`, LibreChat's role routes over the hub's role table. Role
 * permissions are configuration (`roles` and `interface.mcpServers` in switchboard.yaml), read once at
 * start, so the PUT is refused with 409 `HUB_ERR_ROLES_READ_ONLY` instead of changing one instance.
 */
export const rolesRoutes: FastifyPluginAsyncZod<RolesRouteOptions> = async (app, options) => {
  requireIdentity(app, options.identity);

  app.get(
    '/api/admin/roles',
    {
      schema: {
        tags: ['roles'],
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(200).default(200),
          offset: z.coerce.number().int().min(0).default(0),
        }),
        response: {
          200: z.object({
            roles: z.array(z.object({ name: z.string(), description: z.string() })),
            total: z.number(),
            limit: z.number(),
            offset: z.number(),
          }),
        },
      },
    },
    async (request) => {
      if (callerOf(request).role !== 'ADMIN') throw new HubError('HUB_ERR_FORBIDDEN');
      const { limit, offset } = request.query;
      return {
        roles: ALL_ROLES.slice(offset, offset + limit),
        total: ALL_ROLES.length,
        limit,
        offset,
      };
    },
  );

  app.get(
    '/api/roles/:roleName',
    { schema: { tags: ['roles'], params: roleParams, response: { 200: roleSchema } } },
    async (request) => roleView(readableRole(request.params.roleName, callerOf(request)), options.roles),
  );

  app.put(
    '/api/roles/:roleName/mcp-servers',
    {
      schema: {
        tags: ['roles'],
        params: roleParams,
        body: z.strictObject({
          USE: z.boolean().optional(),
          CREATE: z.boolean().optional(),
          SHARE: z.boolean().optional(),
          SHARE_PUBLIC: z.boolean().optional(),
          CONFIGURE_OBO: z.boolean().optional(),
        }),
      },
    },
    async (request) => {
      const caller = callerOf(request);
      if (caller.role !== 'ADMIN') throw new HubError('HUB_ERR_FORBIDDEN');
      readableRole(request.params.roleName, caller);
      throw new HubError('HUB_ERR_ROLES_READ_ONLY');
    },
  );
};
