import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HubError } from '../../errors/index.js';
import { flowIdFor, parseFlowId } from '../../oauth/index.js';
import { assertServerName } from '../../registry/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';
import { routeRateLimit } from '../rate-limits.js';
import type { McpRouteOptions } from './mcp-tools-routes.js';
import { mayActFor } from '../../upstreams/index.js';

const serverNameParams = z.object({ serverName: z.string() });
const flowIdParams = z.object({ flowId: z.string().min(3).max(256) });

/** The flow's owner may read it; `system:` flows (shared authorizations) only admins. */
function mayReadFlow(caller: { userId: string; role: string }, flowId: string): boolean {
  const owner = parseFlowId(flowId)?.userId;
  if (owner === undefined) return false;
  if (owner === 'system') return caller.role === 'ADMIN';
  return owner === caller.userId;
}

/** A shared (`system`) authorization is an admin's to start, bind or cancel; anyone else's is nobody's. */
function assertMayActFor(owner: string, caller: { userId: string; role: 'USER' | 'ADMIN' }): void {
  if (!mayActFor(owner, caller)) {
    throw new HubError('HUB_ERR_FORBIDDEN', { message: 'Access denied' });
  }
}

/** The OAuth routes that need a bearer token: initiate, bind, status, tokens, cancel. */
export const oauthRoutes: FastifyPluginAsyncZod<McpRouteOptions> = async (app, options) => {
  requireIdentity(app, options.identity);

  app.get(
    '/api/mcp/:serverName/oauth/initiate',
    {
      config: { errorKey: 'error', rateLimit: routeRateLimit('oauthInitiate') },
      schema: {
        tags: ['oauth'],
        params: serverNameParams,
        querystring: z.object({ userId: z.string().min(1).max(256), flowId: z.string().min(3).max(256) }),
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const server = await options.registry.get(request.params.serverName, caller);
      if (request.query.userId !== caller.userId) {
        throw new HubError('HUB_ERR_FORBIDDEN', { message: 'User mismatch' });
      }
      const owner = options.upstreams.tokenOwner(server, caller);
      assertMayActFor(owner, caller);
      const flowId = flowIdFor(owner, server.name);
      if (request.query.flowId !== flowId)
        throw new HubError('HUB_ERR_OAUTH_FLOW_NOT_FOUND', { message: 'Flow not found' });
      const [status, url] = await Promise.all([
        options.oauth.flowStatus(flowId),
        options.authorization.pendingUrl(flowId),
      ]);
      if (!status || !url) throw new HubError('HUB_ERR_OAUTH_FLOW_NOT_FOUND', { message: 'Flow not found' });
      if (status.status !== 'PENDING')
        throw new HubError('HUB_ERR_BAD_REQUEST', { message: 'Invalid flow state' });
      options.cookies.bind(reply, flowId, server.name);
      return reply.header('cache-control', 'no-store').redirect(url, 302);
    },
  );

  app.post(
    '/api/mcp/:serverName/oauth/bind',
    {
      config: { errorKey: 'error' },
      schema: {
        tags: ['oauth'],
        params: serverNameParams,
        response: { 200: z.object({ success: z.literal(true) }) },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const server = await options.registry.get(request.params.serverName, caller);
      // Binds this browser to a flow begun elsewhere (e.g. inside a tool call from another client).
      const owner = options.upstreams.tokenOwner(server, caller);
      assertMayActFor(owner, caller);
      options.cookies.bind(reply, flowIdFor(owner, server.name), server.name);
      return { success: true as const };
    },
  );

  app.get(
    '/api/mcp/oauth/status/:flowId',
    {
      config: { errorKey: 'error' },
      schema: {
        tags: ['oauth'],
        params: flowIdParams,
        response: {
          200: z.object({
            status: z.enum(['PENDING', 'COMPLETED', 'FAILED']),
            completed: z.boolean(),
            failed: z.boolean(),
            // Absent unless FAILED: LibreChat's client types it as an optional string, never null.
            error: z.string().optional(),
          }),
        },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      if (!mayReadFlow(caller, request.params.flowId))
        throw new HubError('HUB_ERR_FORBIDDEN', { message: 'Access denied' });
      const flow = await options.oauth.flowStatus(request.params.flowId);
      if (!flow) throw new HubError('HUB_ERR_OAUTH_FLOW_NOT_FOUND', { message: 'Flow not found' });
      return {
        status: flow.status,
        completed: flow.status === 'COMPLETED',
        failed: flow.status === 'FAILED',
        ...(flow.error === null ? {} : { error: flow.error }),
      };
    },
  );

  app.get(
    '/api/mcp/oauth/tokens/:flowId',
    {
      config: { errorKey: 'error' },
      schema: {
        tags: ['oauth'],
        params: flowIdParams,
        // An allowlist: token values can never be serialised from here (response schemas allowlist fields).
        response: {
          200: z.object({
            tokens: z.object({
              token_type: z.string(),
              expires_at: z.number().nullable(),
              scope: z.string(),
            }),
          }),
        },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const flowId = request.params.flowId;
      if (!mayReadFlow(caller, flowId)) throw new HubError('HUB_ERR_FORBIDDEN', { message: 'Access denied' });
      const parsed = parseFlowId(flowId);
      const flow = await options.oauth.flowStatus(flowId);
      if (!flow || !parsed) throw new HubError('HUB_ERR_OAUTH_FLOW_NOT_FOUND', { message: 'Flow not found' });
      if (flow.status !== 'COMPLETED')
        throw new HubError('HUB_ERR_BAD_REQUEST', { message: 'Flow not completed' });
      const tokens = await options.oauth.tokenMetadata(parsed.userId, parsed.serverName);
      if (!tokens) throw new HubError('HUB_ERR_OAUTH_FLOW_NOT_FOUND', { message: 'Flow not found' });
      return { tokens };
    },
  );

  app.post(
    '/api/mcp/oauth/cancel/:serverName',
    {
      config: { errorKey: 'error' },
      schema: {
        tags: ['oauth'],
        params: serverNameParams,
        response: { 200: z.object({ success: z.literal(true), message: z.string() }) },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      assertServerName(request.params.serverName);
      // An admin cancelling on a shared server cancels the shared (`system:`) flow.
      const server = await options.registry.get(request.params.serverName, caller).catch(() => null);
      const owner = server ? options.upstreams.tokenOwner(server, caller) : caller.userId;
      assertMayActFor(owner, caller);
      const cancelled = await options.oauth.cancel(flowIdFor(owner, request.params.serverName));
      return {
        success: true as const,
        message: cancelled
          ? `OAuth flow for ${request.params.serverName} cancelled successfully`
          : 'No active OAuth flow to cancel',
      };
    },
  );
};
