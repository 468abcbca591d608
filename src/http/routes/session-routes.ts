import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Identity, IdentityService } from '../../auth/index.js';
import { HubError } from '../../errors/index.js';
import { isCrossSite, type BrowserSessions, type SessionUser } from '../../sessions/index.js';
import { CSRF_HEADER } from '../authenticate.js';

/** Options for {@link sessionRoutes}. */
export interface SessionRouteOptions {
  identity: IdentityService;
  sessions: BrowserSessions;
  /** PUBLIC_URL: its origin is the only one a sign-in may be posted from. */
  publicUrl: string;
  /** Sign-in attempts per client address per minute (the budget of `POST /api/auth/login`). */
  loginAttemptsPerMinute: number;
}

const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  role: z.enum(['USER', 'ADMIN']),
});

const sessionSchema = z.object({
  user: userSchema,
  csrfToken: z.string(),
  method: z.enum(['password', 'sso']),
  provider: z.string().nullable(),
});

const signInBody = z.object({
  email: z.string().trim().min(3).max(320),
  password: z.string().min(1).max(1024),
});

/** The session as the JSON API shows it: an allowlist, so nothing else of the row can leak. */
function sessionView(session: SessionUser, who: Identity): z.infer<typeof sessionSchema> {
  return {
    user: { id: who.userId, email: who.email, role: who.role },
    csrfToken: session.csrfToken,
    method: session.method,
    provider: session.provider,
  };
}

/**
 * The browser session as JSON, for the hub's own web page: `GET /api/auth/session` (who is signed
 * in, and the CSRF token to send back as `X-CSRF-Token`), `POST /api/auth/session` (sign in with a
 * password) and `DELETE /api/auth/session` (sign out).
 */
export const sessionRoutes: FastifyPluginAsyncZod<SessionRouteOptions> = async (app, options) => {
  const { identity, sessions } = options;
  const publicOrigin = new URL(options.publicUrl).origin;

  app.get(
    '/api/auth/session',
    { schema: { tags: ['auth'], response: { 200: sessionSchema } } },
    async (request, reply) => {
      void reply.header('cache-control', 'no-store');
      const signedIn = await sessions.authenticate(request);
      if (signedIn === null) throw new HubError('HUB_ERR_UNAUTHENTICATED');
      return sessionView(signedIn.session, signedIn.identity);
    },
  );

  app.post(
    '/api/auth/session',
    {
      schema: { tags: ['auth'], body: signInBody, response: { 200: sessionSchema } },
      config: { rateLimit: { max: options.loginAttemptsPerMinute, timeWindow: '1 minute' } },
    },
    async (request, reply) => {
      // Login CSRF: no other site may sign this browser in (to an account of its choosing).
      if (isCrossSite(request, publicOrigin)) throw new HubError('HUB_ERR_CSRF');
      // The bearer token login mints is dropped: the browser gets the cookie instead.
      const { identity: who } = await identity.login(request.body.email, request.body.password);
      const session = await sessions.signIn(request, reply, who.userId, { method: 'password' });
      void reply.header('cache-control', 'no-store');
      return sessionView(session, who);
    },
  );

  app.delete('/api/auth/session', { schema: { tags: ['auth'] } }, async (request, reply) => {
    const session = await sessions.current(request);
    if (session !== null) {
      const header = request.headers[CSRF_HEADER];
      if (!sessions.csrfOk(session, typeof header === 'string' ? header : undefined)) {
        throw new HubError('HUB_ERR_CSRF');
      }
    }
    // Signing out twice, or without a session, is not an error: the browser is signed out either way.
    await sessions.signOut(request, reply);
    return reply.status(204).send();
  });
};
