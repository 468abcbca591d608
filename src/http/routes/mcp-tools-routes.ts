import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { IdentityService } from '../../auth/index.js';
import type { UserVarsStore } from '../../credentials/index.js';
import type { ServerRegistry } from '../../registry/index.js';
import {
  callTool,
  createEventStream,
  wantsEventStream,
  jsonSchemaObject,
  listCatalog,
  toolAnnotationsSchema,
  toolIconSchema,
  type ToolCache,
  type ToolCallOptions,
} from '../../tools/index.js';
import type { OAuthService } from '../../oauth/index.js';
import {
  forwardableHeaders,
  type AuthorizationStarter,
  type UpstreamService,
} from '../../upstreams/index.js';
import type { OAuthCookies } from '../oauth-cookies.js';
import { isHubError, type HubError } from '../../errors/index.js';
import { flowIdFor, insufficientScope } from '../../oauth/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';
import { errorBody, logFailure, toHubError } from '../error-handler.js';
import { routeRateLimit } from '../rate-limits.js';
import { cancelOnHangUp } from './caller-hang-up.js';
import {
  answerNeedsAuthorization,
  errorOnlyBody,
  needsAuthBody,
  needsAuthorization,
} from './oauth-required-answer.js';

/** Services the MCP routes call. */
export interface McpRouteOptions {
  identity: IdentityService;
  registry: ServerRegistry;
  upstreams: UpstreamService;
  userVars: UserVarsStore;
  tools: ToolCache;
  oauth: OAuthService;
  authorization: AuthorizationStarter;
  cookies: OAuthCookies;
  /** PUBLIC_URL: where the callback sends the browser afterwards. */
  publicUrl: string;
  /** Interval of the `: ping` comments on a streamed tool call; default 15 s. */
  eventStreamKeepAliveMs?: number;
}

const listedServer = z.object({
  name: z.string(),
  icon: z.string(),
  authenticated: z.boolean(),
  authConfig: z.array(z.object({ authField: z.string(), label: z.string(), description: z.string() })),
  tools: z.array(
    z.object({
      name: z.string(),
      pluginKey: z.string(),
      description: z.string(),
      title: z.string().optional(),
      inputSchema: jsonSchemaObject.optional(),
      outputSchema: jsonSchemaObject.optional(),
      annotations: toolAnnotationsSchema.optional(),
      icons: z.array(toolIconSchema).optional(),
    }),
  ),
});

/** MCP tool names (spec 2025-11-25: 1–128 of letters, digits, `_`, `-`, `.`), plus `/` and `:` seen in the wild. */
const toolNameSchema = z.string().regex(/^[A-Za-z0-9_.\-/:]{1,128}$/, 'invalid tool name');

const callResultSchema = z.looseObject({
  content: z.array(z.looseObject({ type: z.string() })),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
  isError: z.boolean().optional(),
});

/** Returned by the OAuth gate when the caller must authorize first. */
const NEEDS_OAUTH = Symbol('needs OAuth');

/**
 * The caller's `_meta` for the upstream's tools/call, without `progressToken`: the hub sends its own
 * with every call (it relays progress itself); the caller's would name nothing on that connection.
 */
function callerMeta(meta: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (meta === undefined) return undefined;
  return Object.fromEntries(Object.entries(meta).filter(([key]) => key !== 'progressToken'));
}

/** The error event's data: the JSON route's error body for the same failure. */
function errorEventData(err: unknown, log: FastifyBaseLogger): Record<string, unknown> {
  const error = toHubError(err);
  logFailure(log, error, error.status >= 500 ? 'tool call failed' : 'tool call rejected');
  const body = errorBody(error, 'error');
  // Too late for the binding cookie: the caller calls again and gets the 401 (or 403) with its oauthUrl.
  return needsAuthorization(error) ? { ...body, oauthRequired: true } : body;
}

/**
 * Answers 200 `text/event-stream` at once and runs the call: `progress` events as the upstream
 * reports progress and `log` events as it sends log messages (`notifications/message` params:
 * level, logger, data), then one `result` (the JSON route's body) or `error` event, then the end.
 */
function streamToolCall(
  reply: FastifyReply,
  run: (relays: Required<Pick<ToolCallOptions, 'onProgress' | 'onLog'>>) => Promise<CallToolResult>,
  signal: AbortSignal,
  keepAliveMs: number | undefined,
): FastifyReply {
  const events = createEventStream(keepAliveMs === undefined ? {} : { keepAliveMs });
  const log = reply.log;
  run({
    onProgress: ({ progress, total, message }) =>
      events.send('progress', {
        progress,
        ...(total === undefined ? {} : { total }),
        ...(message === undefined ? {} : { message }),
      }),
    onLog: (params) => events.send('log', params),
  })
    .then((result) => {
      const checked = callResultSchema.safeParse(result);
      if (checked.success) events.send('result', checked.data);
      else events.send('error', errorEventData(checked.error, log));
    })
    .catch((err: unknown) => {
      if (signal.aborted) log.info('caller hung up: tool call cancelled');
      else events.send('error', errorEventData(err, log));
    })
    .finally(() => events.end());
  return reply
    .status(200)
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-accel-buffering', 'no')
    .send(events.body);
}

/**
 * `GET /api/mcp/tools` and `POST /api/mcp/:serverName/tools/:toolName/call` (JSON, or streamed
 * with `Accept: text/event-stream`; a caller hanging up cancels the upstream call in both).
 */
export const mcpToolsRoutes: FastifyPluginAsyncZod<McpRouteOptions> = async (app, options) => {
  requireIdentity(app, options.identity);

  app.get(
    '/api/mcp/tools',
    {
      schema: { tags: ['mcp'], response: { 200: z.object({ servers: z.record(z.string(), listedServer) }) } },
    },
    async (request) => ({ servers: await listCatalog(options, callerOf(request)) }),
  );

  app.post(
    '/api/mcp/:serverName/tools/:toolName/call',
    {
      config: { errorKey: 'error', rateLimit: routeRateLimit('toolCalls') },
      schema: {
        tags: ['mcp'],
        params: z.object({ serverName: z.string(), toolName: toolNameSchema }),
        // `?wait=N`: when the caller's authorization is pending, wait up to N seconds for it, then call.
        querystring: z.object({ wait: z.coerce.number().int().min(0).max(300).optional() }),
        // `_meta` goes to the upstream's tools/call params (MCP 2025-11-25 `_meta`), bar the progressToken.
        body: z
          .strictObject({
            arguments: z.record(z.string(), z.unknown()).default({}),
            _meta: z.record(z.string(), z.unknown()).optional(),
          })
          .default({ arguments: {} }),
        response: {
          200: callResultSchema,
          // Two 401s: OAuth needed (with the URL to open), or no valid bearer token.
          401: z.union([needsAuthBody, errorOnlyBody]),
          // A step-up (HUB_ERR_OAUTH_INSUFFICIENT_SCOPE, with the URL to open), or another refusal.
          403: z.union([needsAuthBody, errorOnlyBody]),
        },
      },
    },
    async (request, reply) => {
      // Listen before anything async: a hang-up at any point cancels (the SDK sends notifications/cancelled).
      const abort = cancelOnHangUp(reply.raw);
      const caller = callerOf(request);
      const server = await options.registry.get(request.params.serverName, caller);
      const meta = callerMeta(request.body._meta);
      const run = async (extra: Pick<ToolCallOptions, 'onProgress' | 'onLog'> = {}) => {
        try {
          return await callTool(
            options.upstreams,
            caller,
            server,
            request.params.toolName,
            request.body.arguments,
            {
              ...extra,
              ...(meta === undefined ? {} : { meta }),
              signal: abort.signal,
              callHeaders: forwardableHeaders(request.headers),
            },
          );
        } catch (err) {
          throw insufficientScope(err, server.name, options.upstreams.lastChallenge(caller, server)) ?? err;
        }
      };
      // Set when the live connection's server asked for more scope than the caller granted.
      let stepUp: HubError | undefined;
      // Runs `attempt`; when the caller must authorize, waits for a pending flow (`?wait`) and retries once.
      const gate = async <T>(attempt: () => Promise<T>): Promise<T | typeof NEEDS_OAUTH> => {
        try {
          return await attempt();
        } catch (err) {
          if (!needsAuthorization(err)) throw err;
          if (isHubError(err, 'HUB_ERR_OAUTH_INSUFFICIENT_SCOPE')) stepUp = err;
        }
        const flowId = flowIdFor(options.upstreams.tokenOwner(server, caller), server.name);
        const waitSeconds = request.query.wait ?? 0;
        if (waitSeconds > 0 && (await options.oauth.flowStatus(flowId))?.status === 'PENDING') {
          const done = await options.oauth.waitForFlow(flowId, waitSeconds * 1000, abort.signal);
          if (done?.status === 'COMPLETED') return attempt();
        }
        return NEEDS_OAUTH;
      };
      if (!wantsEventStream(request.headers.accept)) {
        const result = await gate(() => run());
        if (result !== NEEDS_OAUTH) return result;
      } else if ((await gate(() => options.upstreams.connect(caller, server))) !== NEEDS_OAUTH) {
        // Connected, so OAuth is settled: everything from here on is reported inside the stream.
        return streamToolCall(reply, (relays) => run(relays), abort.signal, options.eventStreamKeepAliveMs);
      }
      // A step-up's authorization asks for the scope granted so far plus the one the server named.
      return answerNeedsAuthorization(reply, options, caller, server, stepUp);
    },
  );
};
