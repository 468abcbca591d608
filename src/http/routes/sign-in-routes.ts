import formbody from '@fastify/formbody';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { IdentityService } from '../../auth/index.js';
import { HubError, isHubError } from '../../errors/index.js';
import { isCrossSite, safeReturnTo, signInPath, type BrowserSessions } from '../../sessions/index.js';
import { page } from './oauth-pages.js';
import { installPageErrors } from './page-errors.js';
import { crossSitePage, signedInPage, signInFormPage, type SignInProvider } from './sign-in-pages.js';

/** Options for {@link signInRoutes}. */
export interface SignInRouteOptions {
  identity: IdentityService;
  sessions: BrowserSessions;
  /** PUBLIC_URL: its origin is the only one a sign-in may be posted from; its path prefixes every link. */
  publicUrl: string;
  /** Sign-in attempts per client address per minute (the budget of `POST /api/auth/login`). */
  loginAttemptsPerMinute: number;
  /** Single-sign-on providers offered on the sign-in page, in order. */
  ssoProviders?: readonly SignInProvider[] | undefined;
}

/** An email, a password, a return path and their form encoding fit well within this. */
const FORM_BODY_LIMIT = 8 * 1024;

/** Longer query or form values are no return path of the hub's (`safeReturnTo` caps at 2 KiB). */
const returnToValue = z.string().max(4096).optional();
const signInForm = z.object({
  email: z.string().trim().max(320),
  password: z.string().max(1024),
  returnTo: returnToValue,
});
const signOutForm = z.object({ _csrf: z.string().max(256).optional(), returnTo: returnToValue });

/**
 * The browser sign-in pages: `GET /auth/signin` (the form, or who is signed in), `POST /auth/signin`
 * (password sign-in, then a 303 to `returnTo`) and `POST /auth/signout`. Single sign-on starts at
 * each provider's own route; the page only links to it.
 */
export const signInRoutes: FastifyPluginAsyncZod<SignInRouteOptions> = async (app, options) => {
  const { identity, sessions } = options;
  const publicUrl = new URL(options.publicUrl);
  const publicOrigin = publicUrl.origin;
  const pathPrefix = publicUrl.pathname.replace(/\/+$/, '');
  const signInPage = `${pathPrefix}/auth/signin`;
  const providers = options.ssoProviders ?? [];
  const note = (request: FastifyRequest, outcome: string) => request.log.info({ outcome }, 'browser sign-in');

  // Only small form posts are parsed here; JSON and text bodies are refused (415).
  app.removeAllContentTypeParsers();
  await app.register(formbody, { bodyLimit: FORM_BODY_LIMIT });
  installPageErrors(app, 'Sign-in failed');

  app.get(
    '/auth/signin',
    { schema: { hide: true, querystring: z.looseObject({ returnTo: returnToValue }) } },
    async (request, reply) => {
      const returnTo = safeReturnTo(request.query.returnTo, signInPage);
      const session = await sessions.current(request);
      if (session === null) return signInFormPage(reply, { pathPrefix, returnTo, providers });
      return signedInPage(reply, {
        pathPrefix,
        returnTo,
        email: session.email,
        csrfToken: session.csrfToken,
        fallback: signInPage,
      });
    },
  );

  app.post(
    '/auth/signin',
    {
      bodyLimit: FORM_BODY_LIMIT,
      schema: { hide: true, body: signInForm },
      // Password guessing is slow by scrypt's cost and capped per client here, as at the login route.
      config: { rateLimit: { max: options.loginAttemptsPerMinute, timeWindow: '1 minute' } },
    },
    async (request, reply) => {
      // Login CSRF: checked before the password, so another site learns nothing either.
      if (isCrossSite(request, publicOrigin)) {
        note(request, 'cross_site');
        return crossSitePage(reply);
      }
      const returnTo = safeReturnTo(request.body.returnTo, signInPage);
      const { email, password } = request.body;
      let userId: string;
      try {
        // The bearer token login mints is dropped: the browser gets the session cookie instead.
        userId = (await identity.login(email, password)).identity.userId;
      } catch (err) {
        if (isHubError(err, 'HUB_ERR_INVALID_CREDENTIALS')) {
          note(request, 'wrong_credentials');
          const error = 'Wrong email or password.';
          return signInFormPage(reply.status(401), { pathPrefix, returnTo, providers, error, email });
        }
        if (isHubError(err, 'HUB_ERR_ACCOUNT_DISABLED')) {
          note(request, 'disabled');
          return page(
            reply.status(403),
            'Account disabled',
            '<p>This account is disabled. Ask an administrator of this Switchboard to enable it.</p>',
          );
        }
        throw err;
      }
      await sessions.signIn(request, reply, userId, { method: 'password' });
      note(request, 'signed_in');
      // 303: the browser follows with a GET and never posts the password again.
      return reply.header('cache-control', 'no-store').redirect(`${publicOrigin}${returnTo}`, 303);
    },
  );

  app.post(
    '/auth/signout',
    { bodyLimit: FORM_BODY_LIMIT, schema: { hide: true, body: signOutForm } },
    async (request, reply) => {
      const session = await sessions.current(request);
      // Another site must not sign the user out (and back in as someone else): the form carries the token.
      if (session !== null && !sessions.csrfOk(session, request.body._csrf))
        throw new HubError('HUB_ERR_CSRF');
      await sessions.signOut(request, reply);
      note(request, 'signed_out');
      const returnTo = safeReturnTo(request.body.returnTo, signInPage);
      const next = returnTo === signInPage ? signInPage : signInPath(pathPrefix, returnTo);
      return reply.header('cache-control', 'no-store').redirect(`${publicOrigin}${next}`, 303);
    },
  );
};
