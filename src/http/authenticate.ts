import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Identity, IdentityService } from '../auth/index.js';
import { HubError } from '../errors/index.js';
import type { BrowserSessions } from '../sessions/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set by {@link requireIdentity} on protected routes. */
    identity: Identity | null;
  }
  interface FastifyInstance {
    /** Browser sessions, when the app accepts them beside bearer tokens (decorated by `buildApp`). */
    browserSessions: BrowserSessions | null;
  }
}

/** Longest bearer token accepted: a JWT is far shorter; this only stops absurd headers early. */
const MAX_TOKEN_LENGTH = 8192;

/** Methods that change nothing (RFC 9110 §9.2.1), so a cookie alone may make them. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The header a cookie-authenticated state-changing request repeats its session's CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token';

/** Extracts the bearer token from an Authorization header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const token = match?.[1];
  if (!token || token.length > MAX_TOKEN_LENGTH) return null;
  return token;
}

/**
 * Adds an `onRequest` hook to the given (encapsulated) scope that requires a valid bearer token or,
 * without one, a live browser session. Runs before body parsing, so an unauthenticated caller
 * cannot make the hub parse a body. A request authenticated by the cookie alone that may change
 * something must repeat the session's CSRF token in `X-CSRF-Token`: a browser attaches the cookie
 * to requests another site makes, but that site cannot read the token (synchronizer token pattern).
 */
export function requireIdentity(scope: FastifyInstance, identity: IdentityService): void {
  scope.addHook('onRequest', async (request: FastifyRequest) => {
    const token = bearerToken(request.headers.authorization);
    if (token) {
      request.identity = await identity.authenticate(token);
      return;
    }
    // An Authorization header that is not a usable bearer token is a failed attempt, not a cue to fall back.
    if (request.headers.authorization !== undefined || scope.browserSessions === null) {
      throw new HubError('HUB_ERR_UNAUTHENTICATED');
    }
    const signedIn = await scope.browserSessions.authenticate(request);
    if (signedIn === null) throw new HubError('HUB_ERR_UNAUTHENTICATED');
    if (!SAFE_METHODS.has(request.method)) {
      const header = request.headers[CSRF_HEADER];
      if (!scope.browserSessions.csrfOk(signedIn.session, typeof header === 'string' ? header : undefined)) {
        throw new HubError('HUB_ERR_CSRF');
      }
    }
    request.identity = signedIn.identity;
  });
}

/** The caller of a protected route; throws when a route forgot {@link requireIdentity}. */
export function callerOf(request: FastifyRequest): Identity {
  if (!request.identity) throw new HubError('HUB_ERR_UNAUTHENTICATED');
  return request.identity;
}
