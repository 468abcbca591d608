import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DEFAULT_TOKEN_TTL_SECONDS, type Identity, type IdentityService } from '../../auth/index.js';
import { HubError } from '../../errors/index.js';
import { callerOf, requireIdentity } from '../authenticate.js';

const permissionsSchema = z.object({
  USE: z.boolean(),
  CREATE: z.boolean(),
  SHARE: z.boolean(),
  SHARE_PUBLIC: z.boolean(),
});

const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  role: z.enum(['USER', 'ADMIN']),
  permissions: z.object({ MCP_SERVERS: permissionsSchema }),
});

const loginBody = z.object({
  email: z.string().trim().min(3).max(320),
  password: z.string().min(1).max(1024),
});

const passwordBody = z.object({
  currentPassword: z.string().min(1).max(1024),
  // The same floor as the command line's `users add --password-stdin`.
  newPassword: z.string().min(8).max(1024),
});

/** The caller as `/api/auth/me` shows them. */
function userView(who: Identity): z.infer<typeof userSchema> {
  return { id: who.userId, email: who.email, role: who.role, permissions: { MCP_SERVERS: who.permissions } };
}

/** Options for {@link authRoutes}. */
export interface AuthRouteOptions {
  identity: IdentityService;
  /** Login attempts per client address per minute. */
  loginAttemptsPerMinute: number;
}

/**
 * `POST /api/auth/login`, `GET /api/auth/me`, and `POST /api/auth/password`, which replaces the
 * caller's password and ends every token issued before (the answer carries a fresh one), and
 * `POST /api/auth/refresh`, which trades a valid hub token for a fresh one (no refresh cookie exists).
 */
export const authRoutes: FastifyPluginAsyncZod<AuthRouteOptions> = async (
  app,
  { identity, loginAttemptsPerMinute },
) => {
  app.post(
    '/api/auth/login',
    {
      schema: {
        tags: ['auth'],
        body: loginBody,
        response: { 200: z.object({ token: z.string(), expiresIn: z.number(), user: userSchema }) },
      },
      // Password guessing is slow by scrypt's cost and capped per client here.
      config: { rateLimit: { max: loginAttemptsPerMinute, timeWindow: '1 minute' } },
    },
    async (request) => {
      const {
        token,
        expiresIn,
        identity: who,
      } = await identity.login(request.body.email, request.body.password);
      return { token, expiresIn, user: userView(who) };
    },
  );

  await app.register(async (scope) => {
    requireIdentity(scope, identity);
    scope.get(
      '/api/auth/me',
      { schema: { tags: ['auth'], response: { 200: userSchema } } },
      async (request) => userView(callerOf(request)),
    );
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/api/auth/refresh',
      {
        schema: {
          tags: ['auth'],
          // LibreChat's client adds `?retry=true` when it retries a refresh; it changes nothing here.
          querystring: z.object({ retry: z.enum(['true', 'false']).optional() }),
          response: { 200: z.object({ token: z.string(), expiresIn: z.number(), user: userSchema }) },
        },
      },
      async (request) => {
        const who = callerOf(request);
        // A browser session never turns into a bearer token: the token would outlive the session's
        // sign-out. MCP clients get tokens of their own through the hub's authorization server.
        if (request.headers.authorization === undefined) {
          throw new HubError('HUB_ERR_FORBIDDEN', {
            message: 'A browser session cannot mint bearer tokens; sign in from the client instead',
          });
        }
        // A token from the application that shares JWT_SECRET is renewed by that application: minting a
        // hub token for it would outlive what the application decided.
        if (who.external !== undefined) {
          throw new HubError('HUB_ERR_FORBIDDEN', {
            message: 'This token was issued by another application; renew it there',
          });
        }
        // Issued at the user's current token epoch: a password change still ends the fresh token too.
        const token = await identity.issueToken({ id: who.userId });
        return { token, expiresIn: DEFAULT_TOKEN_TTL_SECONDS, user: userView(who) };
      },
    );
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/api/auth/password',
      {
        schema: {
          tags: ['auth'],
          body: passwordBody,
          response: { 200: z.object({ token: z.string(), expiresIn: z.number() }) },
        },
        // Guessing the current password here is capped like login.
        config: { rateLimit: { max: loginAttemptsPerMinute, timeWindow: '1 minute' } },
      },
      async (request) =>
        identity.changePassword(
          callerOf(request).userId,
          request.body.currentPassword,
          request.body.newPassword,
        ),
    );
  });
};
