import formbody from '@fastify/formbody';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isHubError } from '../../errors/index.js';
import type { BrowserLinkRedemption, BrowserLinkTicket } from '../../upstreams/index.js';
import { toHubError } from '../error-handler.js';
import type { McpRouteOptions } from './mcp-tools-routes.js';
import { escapeHtml, failurePage, page } from './oauth-pages.js';

/** Options for {@link oauthLinkRoutes}. */
export type OAuthLinkRouteOptions = Pick<
  McpRouteOptions,
  'identity' | 'authorization' | 'cookies' | 'publicUrl'
> & {
  /** Sign-in attempts per client address per minute (the same budget as `POST /api/auth/login`). */
  loginAttemptsPerMinute: number;
};

/** An email, a password and their form encoding fit well within this. */
const FORM_BODY_LIMIT = 8 * 1024;

const ticketParams = z.object({ ticket: z.string().max(256) });
const signInForm = z.object({
  email: z.string().trim().max(320),
  password: z.string().max(1024),
});

/** What a refused redemption shows, and with which status. */
function refusalPage(reply: FastifyReply, reason: Extract<BrowserLinkRedemption, { ok: false }>['reason']) {
  if (reason === 'other_user') {
    return page(
      reply.status(403),
      'Wrong account',
      '<p>This link was made for another Switchboard account, so it was not used and no longer works.</p>' +
        '<p>Ask for a new link from the app that needs the authorization, and sign in with that account.</p>',
    );
  }
  if (reason === 'flow_gone') {
    return page(
      reply.status(400),
      'Sign-in failed',
      '<p>The authorization this link was made for is already over.</p>' +
        '<p>Try the tool again in your app to get a new link.</p>',
    );
  }
  return failurePage(reply.status(400), 'invalid_state');
}

/** The sign-in form; `error` is shown above it (plain text). */
function signInPage(reply: FastifyReply, ticket: string, link: BrowserLinkTicket, error?: string) {
  const server = escapeHtml(link.serverName);
  return page(
    reply,
    'Sign in to Switchboard',
    `<p>Sign in to Switchboard to let it connect <strong>${server}</strong> for you.</p>` +
      '<p>Use the email and password of your Switchboard account (not of the service you are connecting). ' +
      'You are then sent on to approve the access.</p>' +
      (error ? `<p role="alert"><strong>${escapeHtml(error)}</strong></p>` : '') +
      // A relative action posts back to this very URL, behind any proxy path prefix. The ticket has
      // been checked to be base64url, so it needs no encoding.
      `<form method="post" action="${escapeHtml(ticket)}">` +
      '<p><label>Email<br><input type="email" name="email" autocomplete="username" required></label></p>' +
      '<p><label>Password<br><input type="password" name="password" autocomplete="current-password" required></label></p>' +
      '<p><button type="submit">Sign in and continue</button></p></form>',
  );
}

/**
 * Login CSRF: a page on another site could post the attacker's own credentials here, so that the
 * victim's browser carries the attacker's binding into the victim's consent at the AS (OA-04).
 * Browsers say where a form came from (Fetch Metadata); `Origin` is the fallback for those that do
 * not. This page sends no referrer, so its own posts carry `Origin: null`: only `Sec-Fetch-Site`
 * can vouch for them.
 */
function isCrossSite(request: FastifyRequest, publicOrigin: string): boolean {
  const site = request.headers['sec-fetch-site'];
  // `none`: the user's own action (a reload), never another site's.
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.origin;
  return origin !== undefined && origin !== publicOrigin;
}

/**
 * `GET` and `POST /api/mcp/oauth/link/:ticket`: the browser sign-in link of a pending OAuth flow, for
 * clients that hold a bearer token but no browser session (docs/oauth-browser-link.md). The browser
 * proves it is the link's user (their session cookie, or their Switchboard password); only then is
 * the link used up, the flow bound to the browser, and the browser sent to the authorization server.
 */
export const oauthLinkRoutes: FastifyPluginAsyncZod<OAuthLinkRouteOptions> = async (app, options) => {
  const publicOrigin = new URL(options.publicUrl).origin;
  const note = (request: FastifyRequest, outcome: string, server?: string) =>
    request.log.info({ outcome, has_ticket: true, ...(server ? { server } : {}) }, 'oauth link');

  // Only form posts are parsed here, and only small ones; JSON and text bodies are refused (415).
  app.removeAllContentTypeParsers();
  await app.register(formbody, { bodyLimit: FORM_BODY_LIMIT });

  // A person in a browser reads these answers: errors are pages, not JSON.
  app.setErrorHandler((err: unknown, request, reply) => {
    const error = toHubError(err);
    if (error.status >= 500) {
      request.log.error({ err: error.cause ?? error, errorCode: error.code }, 'request failed');
    } else {
      request.log.info({ errorCode: error.code, status: error.status }, 'request rejected');
    }
    if (error.code === 'HUB_ERR_RATE_LIMITED') {
      const retryAfter = (err as { headers?: Record<string, string> }).headers?.['retry-after'];
      if (retryAfter) void reply.header('retry-after', retryAfter);
      return page(reply.status(429), 'Too many attempts', '<p>Wait a minute, then try again.</p>');
    }
    return page(reply.status(error.status), 'Sign-in failed', `<p>${escapeHtml(error.message)}</p>`);
  });

  /** Binds the flow to this browser and sends it on to the authorization server. */
  const proceed = (
    reply: FastifyReply,
    redeemed: Extract<BrowserLinkRedemption, { ok: true }>,
    status: 302 | 303,
  ) => {
    options.cookies.bind(reply, redeemed.flowId, redeemed.serverName);
    return reply
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .redirect(redeemed.authorizationUrl, status);
  };

  app.get(
    '/api/mcp/oauth/link/:ticket',
    { schema: { hide: true, params: ticketParams } },
    async (request, reply) => {
      const { ticket } = request.params;
      const link = await options.authorization.peekBrowserLink(ticket);
      if (!link) {
        note(request, 'unknown_ticket');
        return failurePage(reply.status(400), 'invalid_state');
      }
      // A browser that already holds the link user's session needs no password.
      if (options.cookies.sessionUser(request) !== link.userId) {
        note(request, 'sign_in_form', link.serverName);
        return signInPage(reply, ticket, link);
      }
      const redeemed = await options.authorization.redeemBrowserLink(ticket, link.userId);
      note(request, redeemed.ok ? 'session_redirect' : redeemed.reason, link.serverName);
      return redeemed.ok ? proceed(reply, redeemed, 302) : refusalPage(reply, redeemed.reason);
    },
  );

  app.post(
    '/api/mcp/oauth/link/:ticket',
    {
      bodyLimit: FORM_BODY_LIMIT,
      schema: { hide: true, params: ticketParams, body: signInForm },
      // Password guessing is slow by scrypt's cost and capped per client here, as at the login route.
      config: { rateLimit: { max: options.loginAttemptsPerMinute, timeWindow: '1 minute' } },
    },
    async (request, reply) => {
      const { ticket } = request.params;
      if (isCrossSite(request, publicOrigin)) {
        note(request, 'cross_site');
        return page(
          reply.status(403),
          'Sign-in refused',
          '<p>This sign-in was sent from another site. Open the link you were given and sign in there.</p>',
        );
      }
      const link = await options.authorization.peekBrowserLink(ticket);
      if (!link) {
        note(request, 'unknown_ticket');
        return failurePage(reply.status(400), 'invalid_state');
      }
      let userId: string;
      try {
        userId = (await options.identity.login(request.body.email, request.body.password)).identity.userId;
      } catch (err) {
        if (!isHubError(err, 'HUB_ERR_INVALID_CREDENTIALS')) throw err;
        // The link stays usable: a typo must not cost the user their authorization.
        note(request, 'wrong_credentials', link.serverName);
        return signInPage(reply.status(401), ticket, link, 'Wrong email or password.');
      }
      const redeemed = await options.authorization.redeemBrowserLink(ticket, userId);
      note(request, redeemed.ok ? 'signed_in' : redeemed.reason, link.serverName);
      if (!redeemed.ok) return refusalPage(reply, redeemed.reason);
      options.cookies.session(reply, userId);
      // 303: the browser follows with a GET, never re-posting the password to the AS.
      return proceed(reply, redeemed, 303);
    },
  );
};
