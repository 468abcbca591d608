import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IdentityService } from '../../auth/index.js';
import { HubError } from '../../errors/index.js';
import type { PermissionsView, PrincipalInput, SharingService, ShareRole } from '../../servers/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';

/** Services the access-permission routes call. */
export interface AccessPermissionsRouteOptions {
  identity: IdentityService;
  sharing: SharingService;
}

/** The one resource type this hub holds; LibreChat's others (agent, promptGroup…) do not exist here. */
const RESOURCE_TYPE = 'mcpServer';

/** LibreChat's access-role ids for MCP servers, one per hub role (the bits are the hub's own). */
const ROLE_IDS = {
  viewer: 'mcpServer_viewer',
  editor: 'mcpServer_editor',
  owner: 'mcpServer_owner',
} as const satisfies Record<ShareRole, string>;

const ROLES = [
  { role: 'viewer', name: 'Viewer', description: 'Can see and use the server', permBits: 1 },
  { role: 'editor', name: 'Editor', description: 'Can also change title, description and icon', permBits: 3 },
  { role: 'owner', name: 'Owner', description: 'Can also delete and share the server', permBits: 15 },
] as const;

const accessRoleId = z.enum(['mcpServer_viewer', 'mcpServer_editor', 'mcpServer_owner']);
const roleOfId = (id: z.infer<typeof accessRoleId>): ShareRole =>
  id === 'mcpServer_owner' ? 'owner' : id === 'mcpServer_editor' ? 'editor' : 'viewer';

/** 404 for every resource type but MCP servers: the hub has nothing else to share. */
function requireMcpServerType(resourceType: string): void {
  if (resourceType !== RESOURCE_TYPE)
    throw new HubError('HUB_ERR_NOT_FOUND', {
      message: `Resource type '${resourceType}' does not exist here: this hub shares MCP servers only ('${RESOURCE_TYPE}')`,
    });
}

const typeParams = z.object({ resourceType: z.string().max(100) });
const resourceParams = z.object({
  resourceType: z.string().max(100),
  resourceId: z.string().min(1).max(200),
});

/** A principal as the package shows it; users carry an id only for the owner and vanished accounts. */
const principalOut = z.object({
  type: z.enum(['user', 'group']),
  id: z.string().optional(),
  name: z.string().optional(),
  email: z.string().optional(),
  source: z.literal('local'),
  accessRoleId,
});

const permissionsOut = z.object({
  resourceType: z.literal(RESOURCE_TYPE),
  resourceId: z.string(),
  principals: z.array(principalOut),
  public: z.boolean(),
  publicAccessRoleId: accessRoleId.optional(),
});

/**
 * A principal as the package sends it. Display fields it echoes back (avatar, source…) are
 * accepted and ignored; `role` principals and `public` inside the lists are refused.
 */
const principalIn = z.object({
  type: z.enum(['user', 'group']),
  id: z.string().min(1).max(200).optional(),
  email: z.string().min(1).max(320).optional(),
  name: z.string().min(1).max(320).optional(),
  source: z.enum(['local', 'entra']).optional(),
  avatar: z.string().max(2000).optional(),
  description: z.string().max(2000).optional(),
  idOnTheSource: z.string().max(200).optional(),
  accessRoleId: accessRoleId.optional(),
  viewInsights: z.boolean().optional(),
  isAdmin: z.boolean().optional(),
  memberCount: z.number().optional(),
});
type PrincipalIn = z.infer<typeof principalIn>;

/** Users by id, else by address; groups by id, else by name (what the service takes: exactly one). */
function refOf(p: PrincipalIn): { type: 'user' | 'group'; id?: string; email?: string; name?: string } {
  if (p.id !== undefined) return { type: p.type, id: p.id };
  if (p.type === 'user') return p.email !== undefined ? { type: 'user', email: p.email } : { type: 'user' };
  return p.name !== undefined ? { type: 'group', name: p.name } : { type: 'group' };
}

/** The hub's view in the package's shape. */
function toPackageView(view: PermissionsView): z.infer<typeof permissionsOut> {
  return {
    resourceType: RESOURCE_TYPE,
    resourceId: view.serverId,
    principals: view.principals.map((p) => ({
      type: p.type,
      ...(p.id !== undefined ? { id: p.id } : {}),
      // Users are named by address: an account's display name would tell that it exists (V-13).
      ...(p.type === 'user' ? (p.email !== undefined ? { name: p.email, email: p.email } : {}) : {}),
      ...(p.type === 'group' && p.name !== undefined ? { name: p.name } : {}),
      source: 'local' as const,
      accessRoleId: ROLE_IDS[p.role],
    })),
    public: view.public !== null,
    ...(view.public !== null ? { publicAccessRoleId: ROLE_IDS[view.public] } : {}),
  };
}

/**
 * LibreChat's access-permission routes for resource type `mcpServer`, over the hub's one sharing
 * model: `resourceId` is the servers table id, the roles are viewer/editor/owner, and every check
 * is the one of `/api/mcp/servers/:serverName/permissions` (404 without VIEW, 403 without SHARE,
 * the SHARE and SHARE_PUBLIC role permissions, the owner stays).
 */
export const accessPermissionsRoutes: FastifyPluginAsyncZod<AccessPermissionsRouteOptions> = async (
  app,
  options,
) => {
  requireIdentity(app, options.identity);
  const { sharing } = options;

  app.get(
    '/api/permissions/search-principals',
    {
      schema: {
        tags: ['permissions'],
        querystring: z.object({
          q: z.string().trim().min(2, 'the query needs at least 2 characters').max(320),
          limit: z.coerce.number().int().min(1).max(50).default(10),
          types: z
            .union([z.string(), z.array(z.string())])
            .optional()
            .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : v.split(',')))
            .pipe(z.array(z.enum(['user', 'group', 'role']))),
        }),
        response: {
          200: z.object({
            query: z.string(),
            limit: z.number(),
            types: z.array(z.enum(['user', 'group', 'role'])).nullable(),
            results: z.array(
              z.object({
                type: z.enum(['user', 'group']),
                id: z.string().optional(),
                name: z.string(),
                email: z.string().optional(),
                source: z.literal('local'),
              }),
            ),
            count: z.number(),
            sources: z.object({ local: z.number(), entra: z.number() }),
          }),
        },
      },
    },
    async (request) => {
      const { q, limit, types } = request.query;
      // The hub has no role principals: asking only for roles finds nothing.
      const kinds = types.filter((t): t is 'user' | 'group' => t !== 'role');
      const matches =
        types.length > 0 && kinds.length === 0
          ? []
          : await sharing.searchPrincipals(callerOf(request), {
              text: q,
              limit,
              ...(types.length > 0 ? { types: kinds } : {}),
            });
      const results = matches.map((m) =>
        m.type === 'user'
          ? { type: 'user' as const, name: m.email, email: m.email, source: 'local' as const }
          : { type: 'group' as const, id: m.id, name: m.name, source: 'local' as const },
      );
      return {
        query: q,
        limit,
        types: types.length > 0 ? types : null,
        results,
        count: results.length,
        sources: { local: results.length, entra: 0 },
      };
    },
  );

  app.get(
    '/api/permissions/:resourceType/roles',
    {
      schema: {
        tags: ['permissions'],
        params: typeParams,
        response: {
          200: z.array(
            z.object({ accessRoleId, name: z.string(), description: z.string(), permBits: z.number() }),
          ),
        },
      },
    },
    async (request) => {
      requireMcpServerType(request.params.resourceType);
      return ROLES.map(({ role, name, description, permBits }) => ({
        accessRoleId: ROLE_IDS[role],
        name,
        description,
        permBits,
      }));
    },
  );

  app.get(
    '/api/permissions/:resourceType/effective/all',
    {
      schema: {
        tags: ['permissions'],
        params: typeParams,
        response: { 200: z.record(z.string(), z.number()) },
      },
    },
    async (request) => {
      requireMcpServerType(request.params.resourceType);
      return Object.fromEntries(await sharing.allEffectiveBits(callerOf(request)));
    },
  );

  app.get(
    '/api/permissions/:resourceType/:resourceId/effective',
    {
      schema: {
        tags: ['permissions'],
        params: resourceParams,
        response: { 200: z.object({ permissionBits: z.number() }) },
      },
    },
    async (request) => {
      requireMcpServerType(request.params.resourceType);
      return { permissionBits: await sharing.effectiveBits(callerOf(request), request.params.resourceId) };
    },
  );

  app.get(
    '/api/permissions/:resourceType/:resourceId',
    { schema: { tags: ['permissions'], params: resourceParams, response: { 200: permissionsOut } } },
    async (request) => {
      requireMcpServerType(request.params.resourceType);
      return toPackageView(await sharing.getById(callerOf(request), request.params.resourceId));
    },
  );

  app.put(
    '/api/permissions/:resourceType/:resourceId',
    {
      schema: {
        tags: ['permissions'],
        params: resourceParams,
        body: z.strictObject({
          updated: z.array(principalIn).max(500),
          removed: z.array(principalIn).max(500),
          public: z.boolean().optional(),
          publicAccessRoleId: z.enum(['mcpServer_viewer', 'mcpServer_editor']).optional(),
        }),
        response: {
          200: z.object({
            message: z.string(),
            results: z.object({
              principals: z.array(principalOut),
              public: z.boolean(),
              publicAccessRoleId: accessRoleId.optional(),
            }),
          }),
        },
      },
    },
    async (request) => {
      requireMcpServerType(request.params.resourceType);
      const body = request.body;
      const errors: { path: string; message: string }[] = [];
      body.updated.forEach((p, i) => {
        if (p.accessRoleId === undefined)
          errors.push({ path: `updated[${i}]`, message: "'accessRoleId' is required" });
      });
      if (body.public === true && body.publicAccessRoleId === undefined)
        errors.push({ path: 'publicAccessRoleId', message: "required when 'public' is true" });
      if (errors.length > 0)
        throw new HubError('HUB_ERR_VALIDATION', {
          message: `Invalid permissions: ${errors[0]?.message ?? 'invalid'}`,
          details: { errors },
        });
      const upsert: PrincipalInput[] = body.updated.map((p) => ({
        ...refOf(p),
        role: roleOfId(p.accessRoleId ?? 'mcpServer_viewer'),
      }));
      const publicRole =
        body.public === undefined
          ? undefined
          : body.public && body.publicAccessRoleId !== undefined
            ? roleOfId(body.publicAccessRoleId)
            : null;
      const view = toPackageView(
        await sharing.changeById(callerOf(request), request.params.resourceId, {
          upsert,
          remove: body.removed.map(refOf),
          ...(publicRole !== undefined ? { public: publicRole === 'owner' ? 'editor' : publicRole } : {}),
        }),
      );
      return {
        message: 'Permissions updated successfully',
        results: {
          principals: view.principals,
          public: view.public,
          ...(view.publicAccessRoleId !== undefined ? { publicAccessRoleId: view.publicAccessRoleId } : {}),
        },
      };
    },
  );
};
