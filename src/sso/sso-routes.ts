import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isHubError } from '../errors/index.js';
import { escapeHtml, installPageErrors, page } from '../http/index.js';
import type { Random } from '../core/index.js';
import type { SsoService } from './sso-service.js';

/** Lifetime of the binding cookie: as long as a pending sign-in lives. */
const BINDING_TTL_SECONDS = 10 * 60;
const BINDING_COOKIE = 'sb_sso';
/** 32 random bytes as base64url. */
const BINDING_VALUE = /^[A-Za-z0-9_-]{43}$/;

/** Signs a browser in once its identity is known (the browser sessions feature). */
export interface SsoSessionStarter {
  signIn(
    request: FastifyRequest,
    reply: FastifyReply,
    userId: string,
    via: { method: 'sso'; provider: string },
  ): Promise<unknown>;
}

/** Options for {@link ssoRoutes}. */
export interface SsoRouteOptions {
  sso: SsoService;
  sessions: SsoSessionStarter;
  /** A same-site path, or `fallback` (the open-redirect defence of the sessions feature). */
  safeReturnTo: (value: unknown, fallback: string) => string;
  /** PUBLIC_URL's path prefix ('' at the root): cookie paths and links carry it. */
  pathPrefix: string;
  /** Set `Secure` on the binding cookie (PUBLIC_URL is https). */
  secure: boolean;
  random: Random;
  /**
   * Starts and callbacks per client address per minute: each start stores a pending sign-in for
   * ten minutes, so an unauthenticated flood must not fill the KV.
   */
  attemptsPerMinute: number;
}

const providerParams = z.object({ id: z.string().max(64) });
const startQuery = z.object({ returnTo: z.string().max(2048).optional() });
// Every parameter is passed on to openid-client, which validates the response as a whole.
const callbackQuery = z.record(z.string(), z.string().max(4096));
const providersSchema = z.object({
  providers: z.array(z.object({ id: z.string(), name: z.string(), startUrl: z.string() })),
});

/** openid-client's error code (`OAUTH_JWT_CLAIM_COMPARISON_FAILED`…): a fixed word, safe to log. */
function causeCode(cause: unknown): string | undefined {
  if (typeof cause !== 'object' || cause === null || !('code' in cause)) return undefined;
  return typeof cause.code === 'string' && /^[A-Z_]{1,64}$/.test(cause.code) ? cause.code : undefined;
}

/** The page every refused sign-in ends on: a fixed message, nothing from the request. */
function failure(reply: FastifyReply, error: unknown): FastifyReply {
  const known = isHubError(error) ? error : null;
  // A HubError's message is written to be shown; an internal failure's is not.
  const message = known !== null && known.status !== 500 ? known.message : 'The sign-in failed.';
  return page(
    reply.code(known?.status ?? 500),
    'Sign-in failed',
    `<p>${escapeHtml(message)}</p><p>Go back to where you started and sign in again.</p>`,
  );
}

/** What is logged about a failed step: facts only, never a code, a state or a token. */
function outcomeOf(error: unknown): Record<string, unknown> {
  if (!isHubError(error)) return { outcome: 'error', err: error };
  return {
    outcome: error.code,
    cause: error.cause instanceof Error ? error.cause.name : undefined,
    cause_code: causeCode(error.cause),
  };
}

/**
 * Single sign-on routes: `GET /auth/sso/:id/start` (to the provider), `GET /auth/sso/:id/callback`
 * (back from it, signed in) and `GET /api/auth/providers` (the buttons to show, public).
 */
export const ssoRoutes: FastifyPluginAsyncZod<SsoRouteOptions> = async (app, options) => {
  const { sso, pathPrefix } = options;
  const signInPage = `${pathPrefix}/auth/signin`;
  const cookiePath = `${pathPrefix}/auth/sso`;
  const rateLimit = { max: options.attemptsPerMinute, timeWindow: '1 minute' };

  /** This browser's binding value: kept when it has one, so sign-ins in two tabs both finish. */
  function binding(request: FastifyRequest, reply: FastifyReply): string {
    const current = request.cookies[BINDING_COOKIE];
    const value =
      current !== undefined && BINDING_VALUE.test(current)
        ? current
        : options.random.bytes(32).toString('base64url');
    void reply.setCookie(BINDING_COOKIE, value, {
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secure,
      path: cookiePath,
      maxAge: BINDING_TTL_SECONDS,
    });
    return value;
  }

  app.get(
    '/api/auth/providers',
    { schema: { tags: ['auth'], response: { 200: providersSchema } } },
    async () => ({
      providers: sso.list().map(({ id, name }) => ({
        id,
        name,
        startUrl: `${pathPrefix}/auth/sso/${encodeURIComponent(id)}/start`,
      })),
    }),
  );

  // A person in a browser reads these answers: every error here, a rate limit included, is a page.
  await app.register(async (scope) => {
    installPageErrors(scope, 'Sign-in failed');
    const pages = scope.withTypeProvider<ZodTypeProvider>();
    pages.get(
      '/auth/sso/:id/start',
      {
        schema: { hide: true, params: providerParams, querystring: startQuery },
        config: { rateLimit },
      },
      async (request, reply) => {
        void reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
        try {
          const returnTo = options.safeReturnTo(request.query.returnTo, signInPage);
          const url = await sso.start(request.params.id, returnTo, binding(request, reply));
          return await reply.redirect(url.href, 303);
        } catch (error) {
          request.log.warn(
            { provider: request.params.id, ...outcomeOf(error) },
            'sso sign-in could not start',
          );
          return failure(reply, error);
        }
      },
    );

    pages.get(
      '/auth/sso/:id/callback',
      {
        schema: { hide: true, params: providerParams, querystring: callbackQuery },
        config: { rateLimit },
      },
      async (request, reply) => {
        void reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
        const provider = request.params.id;
        try {
          const done = await sso.finish(provider, {
            query: request.query,
            binding: request.cookies[BINDING_COOKIE],
          });
          await options.sessions.signIn(request, reply, done.userId, { method: 'sso', provider });
          request.log.info({ provider, user: done.userId }, 'sso sign-in completed');
          return await reply.redirect(options.safeReturnTo(done.returnTo, signInPage), 303);
        } catch (error) {
          request.log.info(
            { provider, ...outcomeOf(error), has_state: typeof request.query.state === 'string' },
            'sso callback refused',
          );
          return failure(reply, error);
        }
      },
    );
  });
};
