import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { McpRouteOptions } from './mcp-tools-routes.js';
import { routeRateLimit } from '../rate-limits.js';
import { saveRetryPage } from './oauth-pages.js';

/** When a callback whose tokens could not be stored is worth sending again. */
const RETRY_AFTER_SECONDS = 5;

/** Query values are bounded; anything longer is not a real authorization response. */
const param = z.string().max(4096).optional();
const callbackQuery = z.looseObject({ code: param, state: param, error: param, iss: param });

/**
 * The callback path every user-created server shares. It names no server, so the public client
 * metadata document can list it without naming anyone's private server (V-09); the flow (its
 * `state`) says which server the callback is for. `oauth` is a reserved server name, so no server's
 * own path can be this one.
 */
export const SHARED_CALLBACK_PATH = '/api/mcp/oauth/callback';

/**
 * The hub's OAuth callback URL (the `redirect_uri` it registers and sends): the server's own path
 * for a server of the configuration file, the shared path when `serverName` is null.
 */
export function oauthCallbackUrl(publicUrl: string, serverName: string | null): string {
  const base = publicUrl.replace(/\/+$/, '');
  return serverName === null
    ? `${base}${SHARED_CALLBACK_PATH}`
    : `${base}/api/mcp/${encodeURIComponent(serverName)}/oauth/callback`;
}

/**
 * `GET /api/mcp/:serverName/oauth/callback` (servers of the configuration file) and
 * `GET /api/mcp/oauth/callback` (users' servers): the browser's return from the authorization
 * server. No bearer token (the browser has none); the flow is accepted only at the redirect URI it
 * was started with, and only with the binding cookie of that flow or the browser session of the
 * flow's user. Every outcome is a redirect to a fixed hub page, but one: a sign-in whose tokens
 * could not be stored yet is answered here (503), so the same request can be sent again.
 */
export const oauthCallbackRoute: FastifyPluginAsyncZod<
  McpRouteOptions & { onAuthorized: (userId: string, serverName: string) => Promise<void> }
> = async (app, options) => {
  async function complete(
    request: FastifyRequest,
    reply: FastifyReply,
    serverName: string | null,
    query: z.infer<typeof callbackQuery>,
  ): Promise<FastifyReply> {
    // Looked up before the flow is: the check itself is synchronous, and one lookup serves any flow.
    const signedIn = (await app.browserSessions?.current(request)) ?? null;
    const result = await options.oauth.completeCallback({
      serverName,
      redirectUri: oauthCallbackUrl(options.publicUrl, serverName),
      code: query.code,
      state: query.state,
      error: query.error,
      iss: query.iss,
      // OA-03/OA-04: this flow's binding cookie, or the browser session of the flow's own user.
      isBound: (flow) => options.cookies.isBound(request, flow) || signedIn?.userId === flow.userId,
    });
    void reply
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      // Browsers apply COOP to each redirect of a navigation: helmet's `same-origin` here would cut
      // a sign-in popup off from the hub page that opened it, before the result page can tell it.
      .header('cross-origin-opener-policy', 'unsafe-none');
    if (!result.ok && result.retryable === true) {
      request.log.info({ server: serverName, outcome: result.error }, 'oauth callback to be retried');
      // The page stays at this URL, so reloading it or its "Try again" retries the same callback.
      return saveRetryPage(reply.status(503).header('retry-after', String(RETRY_AFTER_SECONDS)));
    }
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
    options.cookies.clearBinding(reply, result.serverName);
    request.log.info({ server: result.serverName, flow_user: result.userId }, 'oauth callback completed');
    // Tokens are stored. Connections opened before them close before the browser moves on (a call
    // the page sends next must not land on one); the reconnect and the tool listing run after.
    await options.onAuthorized(result.userId, result.serverName);
    return reply.redirect(
      `${options.publicUrl}/oauth/success?serverName=${encodeURIComponent(result.serverName)}`,
      302,
    );
  }

  app.get(
    '/api/mcp/:serverName/oauth/callback',
    {
      config: { rateLimit: routeRateLimit('oauthCallback') },
      schema: {
        hide: true,
        params: z.object({ serverName: z.string().max(256) }),
        querystring: callbackQuery,
      },
    },
    async (request, reply) => complete(request, reply, request.params.serverName, request.query),
  );

  app.get(
    SHARED_CALLBACK_PATH,
    {
      config: { rateLimit: routeRateLimit('oauthCallback') },
      schema: { hide: true, querystring: callbackQuery },
    },
    async (request, reply) => complete(request, reply, null, request.query),
  );
};
