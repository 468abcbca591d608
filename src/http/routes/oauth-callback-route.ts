import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { McpRouteOptions } from './mcp-tools-routes.js';

/** Query values are bounded; anything longer is not a real authorization response. */
const param = z.string().max(4096).optional();

/**
 * `GET /api/mcp/:serverName/oauth/callback`: the browser's return from the authorization server.
 * No bearer token (the browser has none); the flow is accepted only with the binding cookie of
 * that flow or the same user's session cookie. Every outcome is a redirect to a fixed hub page.
 */
export const oauthCallbackRoute: FastifyPluginAsyncZod<
  McpRouteOptions & { onAuthorized: (userId: string, serverName: string) => void }
> = async (app, options) => {
  app.get(
    '/api/mcp/:serverName/oauth/callback',
    {
      schema: {
        hide: true,
        params: z.object({ serverName: z.string().max(256) }),
        querystring: z.looseObject({ code: param, state: param, error: param, iss: param }),
      },
    },
    async (request, reply) => {
      const { serverName } = request.params;
      const query = request.query;
      const result = await options.oauth.completeCallback({
        serverName,
        code: query.code,
        state: query.state,
        error: query.error,
        iss: query.iss,
        isBound: (flow) => options.cookies.isBound(request, flow, serverName),
      });
      void reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
      if (!result.ok) {
        request.log.info(
          { server: serverName, outcome: result.error, has_state: Boolean(query.state) },
          'oauth callback refused',
        );
        return reply.redirect(
          `${options.publicUrl}/oauth/error?error=${encodeURIComponent(result.error)}`,
          302,
        );
      }
      options.cookies.clearBinding(reply, serverName);
      request.log.info({ server: result.serverName, flow_user: result.userId }, 'oauth callback completed');
      // Tokens are stored; reconnecting and refreshing the catalog happen after the browser moves on.
      options.onAuthorized(result.userId, result.serverName);
      return reply.redirect(
        `${options.publicUrl}/oauth/success?serverName=${encodeURIComponent(result.serverName)}`,
        302,
      );
    },
  );
};
