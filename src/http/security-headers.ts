import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Helmet's security headers on every response, worked out once at start: they are the same for
 * every response, and running helmet per request rebuilds them each time (its CSP is serialized
 * anew), a measurable share of the hub's own cost per tool call. Routes that serve pages set their
 * own `Content-Security-Policy` over this one.
 */
export function installSecurityHeaders(app: FastifyInstance): void {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  const middleware = helmet({
    // The API serves JSON; pages (OAuth results, sign-in links) set their own policy.
    contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], frameAncestors: ["'none'"] } },
  });
  // Helmet only calls setHeader/removeHeader on the response, and reads the request only for
  // directives given as functions (none here): the recorder stands in for both.
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, () => undefined);
  app.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(headers);
    done();
  });
}
