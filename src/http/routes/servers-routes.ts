import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IdentityService } from '../../auth/index.js';
import type { ServersService } from '../../servers/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';
import { routeRateLimit } from '../rate-limits.js';

/** Services the `/api/mcp/servers` routes call. */
export interface ServersRouteOptions {
  identity: IdentityService;
  servers: ServersService;
}

const stringRecord = z.record(z.string(), z.string());
const strings = z.array(z.string());

/**
 * A server as a response may show it: an allowlist, so a field the service
 * forgot to leave out still never reaches a caller. Secrets arrive already masked.
 */
export const serverViewSchema = z.object({
  serverName: z.string(),
  source: z.enum(['yaml', 'user']),
  type: z.enum(['stdio', 'sse', 'streamable-http', 'websocket']),
  title: z.string().optional(),
  description: z.string().optional(),
  iconPath: z.string().optional(),
  requiresOAuth: z.boolean(),
  toolCount: z.number().int().nullable().optional(),
  dbId: z.string().optional(),
  url: z.string().optional(),
  headers: stringRecord.optional(),
  oauth: z
    .object({
      authorization_url: z.string().optional(),
      token_url: z.string().optional(),
      client_id: z.string().optional(),
      client_secret: z.string().optional(),
      scope: z.string().optional(),
      redirect_uri: z.string().optional(),
      token_exchange_method: z.string().optional(),
      grant_types_supported: strings.optional(),
      token_endpoint_auth_methods_supported: strings.optional(),
      response_types_supported: strings.optional(),
      code_challenge_methods_supported: strings.optional(),
      skip_code_challenge_check: z.boolean().optional(),
      revocation_endpoint: z.string().optional(),
      revocation_endpoint_auth_methods_supported: strings.optional(),
    })
    .optional(),
  apiKey: z
    .object({
      source: z.enum(['admin', 'user']),
      authorization_type: z.enum(['basic', 'bearer', 'custom']),
      custom_header: z.string().optional(),
      key: z.string().optional(),
    })
    .optional(),
  // Administrator-defined fields, shown to admins for YAML servers (never the command line).
  env: stringRecord.optional(),
  stderr: z.string().optional(),
  startup: z.boolean().optional(),
  timeout: z.number().optional(),
  initTimeout: z.number().optional(),
  sseReadTimeout: z.number().optional(),
  idleTimeout: z.number().optional(),
  chatMenu: z.boolean().optional(),
  serverInstructions: z.union([z.boolean(), z.string()]).optional(),
  // Shown to every caller who may see the server: what to ask each user for, never a value.
  customUserVars: z
    .record(
      z.string(),
      z.object({ title: z.string(), description: z.string(), sensitive: z.boolean().optional() }),
    )
    .optional(),
  oauth_headers: stringRecord.optional(),
  access: z.object({ roles: strings.optional(), users: strings.optional() }).optional(),
});

const serverNameParams = z.object({ serverName: z.string() });
/** `{config}`; the config itself is checked by the service, which names every bad field. */
const configBody = z.strictObject({ config: z.unknown().optional() });

/** `GET/POST /api/mcp/servers` and `GET/PATCH/DELETE /api/mcp/servers/:serverName` (`{message}` errors). */
export const serversRoutes: FastifyPluginAsyncZod<ServersRouteOptions> = async (app, options) => {
  requireIdentity(app, options.identity);

  app.get(
    '/api/mcp/servers',
    {
      schema: {
        tags: ['servers'],
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(100).default(20),
          after: z.string().max(400).optional(),
          search: z.string().max(100).optional(),
        }),
        response: { 200: z.record(z.string(), serverViewSchema) },
      },
    },
    async (request, reply) => {
      const page = await options.servers.list(callerOf(request), request.query);
      if (page.nextCursor !== null) void reply.header('x-next-cursor', page.nextCursor);
      return page.servers;
    },
  );

  app.post(
    '/api/mcp/servers',
    {
      config: { rateLimit: routeRateLimit('serverCreation') },
      schema: { tags: ['servers'], body: configBody, response: { 201: serverViewSchema } },
    },
    async (request, reply) => {
      const view = await options.servers.create(callerOf(request), request.body.config);
      return reply.code(201).send(view);
    },
  );

  app.get(
    '/api/mcp/servers/:serverName',
    { schema: { tags: ['servers'], params: serverNameParams, response: { 200: serverViewSchema } } },
    async (request) => options.servers.get(callerOf(request), request.params.serverName),
  );

  app.patch(
    '/api/mcp/servers/:serverName',
    {
      schema: {
        tags: ['servers'],
        params: serverNameParams,
        body: configBody,
        response: { 200: serverViewSchema },
      },
    },
    async (request) =>
      options.servers.update(callerOf(request), request.params.serverName, request.body.config),
  );

  app.delete(
    '/api/mcp/servers/:serverName',
    {
      schema: {
        tags: ['servers'],
        params: serverNameParams,
        // `success` is what LibreChat's client reads; `message` is kept for earlier clients.
        response: { 200: z.object({ success: z.literal(true), message: z.string() }) },
      },
    },
    async (request) => {
      await options.servers.remove(callerOf(request), request.params.serverName);
      return { success: true as const, message: 'MCP server deleted successfully' };
    },
  );
};
