import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Identity, IdentityService } from '../auth/index.js';
import { HubError } from '../errors/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set by {@link requireIdentity} on protected routes. */
    identity: Identity | null;
  }
}

/** Longest bearer token accepted: a JWT is far shorter; this only stops absurd headers early. */
const MAX_TOKEN_LENGTH = 8192;

/** Extracts the bearer token from an Authorization header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const token = match?.[1];
  if (!token || token.length > MAX_TOKEN_LENGTH) return null;
  return token;
}

/**
 * Adds an `onRequest` hook to the given (encapsulated) scope that requires a valid bearer token.
 * Runs before body parsing, so an unauthenticated caller cannot make the hub parse a body.
 */
export function requireIdentity(scope: FastifyInstance, identity: IdentityService): void {
  scope.addHook('onRequest', async (request: FastifyRequest) => {
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new HubError('HUB_ERR_UNAUTHENTICATED');
    request.identity = await identity.authenticate(token);
  });
}

/** The caller of a protected route; throws when a route forgot {@link requireIdentity}. */
export function callerOf(request: FastifyRequest): Identity {
  if (!request.identity) throw new HubError('HUB_ERR_UNAUTHENTICATED');
  return request.identity;
}
