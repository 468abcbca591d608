import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Helmet's security headers on every response Fastify sends, worked out once at start: they are
 * the same for every response, and running helmet per request rebuilds them each time (its CSP is
 * serialized anew). They are added as the response goes out, each unless the route set it (pages
 * set their own `Content-Security-Policy`). Answers a route writes itself (`reply.hijack()`: the
 * MCP endpoint's JSON and event streams) carry only their own headers, so the hub does not set a
 * dozen headers per tool call that never leave.
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
  const names = Object.keys(headers);
  app.addHook('onSend', (_request, reply, payload, done) => {
    for (const name of names) if (!reply.hasHeader(name)) void reply.header(name, headers[name]);
    done(null, payload);
  });
}
