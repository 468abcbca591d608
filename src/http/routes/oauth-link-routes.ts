import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { signInPath } from '../../sessions/index.js';
import type { BrowserLinkRedemption } from '../../upstreams/index.js';
import type { McpRouteOptions } from './mcp-tools-routes.js';
import { routeRateLimit } from '../rate-limits.js';
import { escapeHtml, failurePage, page } from './oauth-pages.js';
import { installPageErrors } from './page-errors.js';
import { signOutForm } from './sign-in-pages.js';

/** Options for {@link oauthLinkRoutes}. */
export type OAuthLinkRouteOptions = Pick<McpRouteOptions, 'authorization' | 'cookies' | 'publicUrl'>;

const ticketParams = z.object({ ticket: z.string().max(256) });

/** What a refused redemption shows, and with which status. */
function refusalPage(reply: FastifyReply, reason: Extract<BrowserLinkRedemption, { ok: false }>['reason']) {
  if (reason === 'flow_gone') {
    return page(
      reply.status(400),
      'Sign-in failed',
      '<p>The authorization this link was made for is already over.</p>' +
        '<p>Try the tool again in your app to get a new link.</p>',
    );
  }
  // 'unknown' (used meanwhile) and 'other_user' (cannot happen: the user was compared first).
  return failurePage(reply.status(400), 'invalid_state');
}

/**
 * `GET /api/mcp/oauth/link/:ticket`: the browser sign-in link of a pending OAuth flow, for clients
 * that hold a bearer token but no browser (docs/oauth-browser-link.md). The browser must carry the
 * hub session of the link's user; only then is the link used up, the flow bound to the browser,
 * and the browser sent to the authorization server. Without a session it is sent to sign in first
 * and comes back here; with another user's session it is refused and nothing is bound (OA-04).
 */
export const oauthLinkRoutes: FastifyPluginAsyncZod<OAuthLinkRouteOptions> = async (app, options) => {
  const publicUrl = new URL(options.publicUrl);
  const publicOrigin = publicUrl.origin;
  const pathPrefix = publicUrl.pathname.replace(/\/+$/, '');
  const note = (request: FastifyRequest, outcome: string, server?: string) =>
    request.log.info({ outcome, has_ticket: true, ...(server ? { server } : {}) }, 'oauth link');

  installPageErrors(app, 'Sign-in failed');

  app.get(
    '/api/mcp/oauth/link/:ticket',
    { config: { rateLimit: routeRateLimit('oauthInitiate') }, schema: { hide: true, params: ticketParams } },
    async (request, reply) => {
      const { ticket } = request.params;
      const link = await options.authorization.peekBrowserLink(ticket);
      if (!link) {
        note(request, 'unknown_ticket');
        return failurePage(reply.status(400), 'invalid_state');
      }
      void reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
      // The ticket was checked to be base64url: the path needs no encoding.
      const linkPath = `${pathPrefix}/api/mcp/oauth/link/${ticket}`;
      const session = (await app.browserSessions?.current(request)) ?? null;
      if (session === null) {
        note(request, 'sign_in_first', link.serverName);
        // 303: whatever brought the browser here, it signs in with a GET of the sign-in page.
        return reply.redirect(`${publicOrigin}${signInPath(pathPrefix, linkPath)}`, 303);
      }
      if (session.userId !== link.userId) {
        // The link stays usable: its own user may still sign in in this browser.
        note(request, 'other_user', link.serverName);
        return page(
          reply.status(403),
          'Wrong account',
          '<p>This link was made for another Switchboard account. You are signed in as ' +
            `<strong>${escapeHtml(session.email)}</strong>, so it was not used and nothing was connected.</p>` +
            `<p>${signOutForm(pathPrefix, session.csrfToken, linkPath, 'Sign out and use another account')}</p>`,
        );
      }
      const redeemed = await options.authorization.redeemBrowserLink(ticket, session.userId);
      note(request, redeemed.ok ? 'session_redirect' : redeemed.reason, link.serverName);
      if (!redeemed.ok) return refusalPage(reply, redeemed.reason);
      options.cookies.bind(reply, redeemed.flowId, redeemed.serverName);
      return reply.redirect(redeemed.authorizationUrl, 302);
    },
  );
};
