import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  complete,
  completionResultSchema,
  emptyResultSchema,
  getPrompt,
  listPrompts,
  listResources,
  listResourceTemplates,
  LOG_LEVELS,
  promptListSchema,
  promptResultSchema,
  readResource,
  readResourceResultSchema,
  resourceListSchema,
  resourceTemplateListSchema,
  setLogLevel,
  type ServerTarget,
} from '../../content/index.js';
import { forwardableHeaders } from '../../upstreams/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';
import { cancelOnHangUp } from './caller-hang-up.js';
import type { McpRouteOptions } from './mcp-tools-routes.js';
import {
  answerNeedsAuthorization,
  errorOnlyBody,
  needsAuthBody,
  needsAuthorization,
} from './oauth-required-answer.js';

const serverParams = z.object({ serverName: z.string() });

/** MCP cursors are opaque strings; this bound only stops absurd query strings. */
const pageQuery = z.object({ cursor: z.string().min(1).max(4096).optional() });

/** A string map of prompt or completion arguments (MCP prompt arguments are strings). */
const stringArguments = z.record(z.string(), z.string());

const completionBody = z.strictObject({
  ref: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('ref/prompt'), name: z.string().min(1).max(256) }),
    z.strictObject({ type: z.literal('ref/resource'), uri: z.string().min(1).max(8192) }),
  ]),
  argument: z.strictObject({ name: z.string().min(1).max(256), value: z.string().max(8192) }),
  context: z.strictObject({ arguments: stringArguments.optional() }).optional(),
});

/** The answers every content route can give besides its 200 (the error handler's bodies, details kept). */
const failures = {
  // Two 401s: OAuth needed (with the URL to open), or no valid bearer token.
  401: z.union([needsAuthBody, errorOnlyBody]),
  // A step-up (HUB_ERR_OAUTH_INSUFFICIENT_SCOPE, with the URL to open), or another refusal.
  403: z.union([needsAuthBody, errorOnlyBody]),
  // HUB_ERR_CAPABILITY_UNSUPPORTED (`capability`), or HUB_ERR_CONFLICT for a shared connection's log level.
  409: errorOnlyBody.loose(),
  // HUB_ERR_UPSTREAM_REFUSED: `upstreamError` holds the server's JSON-RPC code and message.
  422: errorOnlyBody.loose(),
};

/** The route config and OpenAPI schema of one content route. */
function routeSchema<S extends Record<string, unknown>>(schema: S, ok: z.ZodType) {
  return {
    config: { errorKey: 'error' as const },
    schema: { tags: ['mcp'], ...schema, response: { 200: ok, ...failures } },
  };
}

/**
 * The REST face of a server's resources, prompts, completions and logging (MCP 2025-11-25 server
 * features), per server and with the upstream's own names and URIs:
 * `GET /api/mcp/:serverName/resources`, `…/resource-templates`, `POST …/resources/read`,
 * `GET …/prompts`, `POST …/prompts/:promptName/get`, `POST …/completions`, `POST …/logging/level`.
 * Authentication, access (decided per request from the registry), OAuth answers, timeouts, size
 * limits and cancel-on-hang-up are the tool call route's.
 */
export const mcpContentRoutes: FastifyPluginAsyncZod<McpRouteOptions> = async (app, options) => {
  requireIdentity(app, options.identity);

  /** Runs one request against the named server as the caller; answers 401/403 when OAuth is needed. */
  async function serve<T>(
    request: FastifyRequest,
    reply: FastifyReply,
    serverName: string,
    run: (target: ServerTarget) => Promise<T>,
  ): Promise<T | FastifyReply> {
    // Listen before anything async: a hang-up at any point cancels (the SDK sends notifications/cancelled).
    const abort = cancelOnHangUp(reply.raw);
    const caller = callerOf(request);
    const server = await options.registry.get(serverName, caller);
    const target: ServerTarget = {
      upstreams: options.upstreams,
      caller,
      server,
      signal: abort.signal,
      callHeaders: forwardableHeaders(request.headers),
    };
    try {
      return await run(target);
    } catch (err) {
      if (!needsAuthorization(err)) throw err;
      return answerNeedsAuthorization(reply, options, caller, server, err);
    }
  }

  app.get(
    '/api/mcp/:serverName/resources',
    routeSchema({ params: serverParams, querystring: pageQuery }, resourceListSchema),
    (request, reply) =>
      serve(request, reply, request.params.serverName, (target) =>
        listResources(target, request.query.cursor),
      ),
  );

  app.get(
    '/api/mcp/:serverName/resource-templates',
    routeSchema({ params: serverParams, querystring: pageQuery }, resourceTemplateListSchema),
    (request, reply) =>
      serve(request, reply, request.params.serverName, (target) =>
        listResourceTemplates(target, request.query.cursor),
      ),
  );

  app.post(
    '/api/mcp/:serverName/resources/read',
    routeSchema(
      { params: serverParams, body: z.strictObject({ uri: z.string().min(1).max(8192) }) },
      readResourceResultSchema,
    ),
    (request, reply) =>
      serve(request, reply, request.params.serverName, (target) => readResource(target, request.body.uri)),
  );

  app.get(
    '/api/mcp/:serverName/prompts',
    routeSchema({ params: serverParams, querystring: pageQuery }, promptListSchema),
    (request, reply) =>
      serve(request, reply, request.params.serverName, (target) => listPrompts(target, request.query.cursor)),
  );

  app.post(
    '/api/mcp/:serverName/prompts/:promptName/get',
    routeSchema(
      {
        params: serverParams.extend({ promptName: z.string().min(1).max(256) }),
        body: z.strictObject({ arguments: stringArguments.optional() }).default({}),
      },
      promptResultSchema,
    ),
    (request, reply) =>
      serve(request, reply, request.params.serverName, (target) =>
        getPrompt(target, request.params.promptName, request.body.arguments),
      ),
  );

  app.post(
    '/api/mcp/:serverName/completions',
    routeSchema({ params: serverParams, body: completionBody }, completionResultSchema),
    (request, reply) =>
      serve(request, reply, request.params.serverName, (target) => {
        const { ref, argument, context } = request.body;
        return complete(target, { ref, argument, ...(context === undefined ? {} : { context }) });
      }),
  );

  app.post(
    '/api/mcp/:serverName/logging/level',
    routeSchema(
      { params: serverParams, body: z.strictObject({ level: z.enum(LOG_LEVELS) }) },
      emptyResultSchema,
    ),
    (request, reply) =>
      serve(request, reply, request.params.serverName, async (target) => {
        await setLogLevel(target, request.body.level);
        return {};
      }),
  );
};
