import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';

/** What {@link providerRoutes} hands requests to. */
export interface ProviderRouteOptions {
  provider: Provider;
  /** PUBLIC_URL's path (no trailing slash), which a reverse proxy strips before the hub sees a request. */
  pathPrefix: string;
  /** Dynamic registrations per client address per minute: each one stores a client for good. */
  registrationsPerMinute: number;
}

const METADATA_PATH = '/.well-known/oauth-authorization-server';
const OPENID_METADATA_PATH = '/.well-known/openid-configuration';
const METHODS = ['GET', 'POST', 'OPTIONS'] as const;

/**
 * oidc-provider's own endpoints under `/oauth2/…` and its metadata, handed over as raw Node
 * requests before Fastify reads a body: the library parses its own forms and JSON, and answers
 * its own errors. RFC 8414 §3 puts the metadata at `/.well-known/oauth-authorization-server`
 * (with the issuer's path appended when PUBLIC_URL has one); OpenID Connect Discovery at
 * `/.well-known/openid-configuration`. oidc-provider serves both; the prefixed one is mapped to it.
 */
export const providerRoutes: FastifyPluginAsync<ProviderRouteOptions> = async (app, options) => {
  const callback = options.provider.callback();
  const { pathPrefix } = options;

  const handOver = (path: string | null) => async (request: FastifyRequest, reply: FastifyReply) => {
    const raw = request.raw;
    if (path !== null) {
      const query = raw.url?.includes('?') ? raw.url.slice(raw.url.indexOf('?')) : '';
      raw.url = `${path}${query}`;
    }
    // oidc-provider builds its URLs from the part of originalUrl in front of the route: the prefix
    // the proxy stripped, so links and cookie paths are the ones the browser sees.
    Object.assign(raw, { originalUrl: `${pathPrefix}${raw.url ?? ''}` });
    reply.hijack();
    // Koa answers every error itself; the promise does not reject.
    await callback(raw, reply.raw);
  };

  // onRequest, not the handler: Fastify must not read the body the library reads itself.
  const route = (url: string, path: string | null) =>
    app.route({
      method: [...METHODS],
      url,
      schema: { hide: true },
      onRequest: handOver(path),
      handler: async () => undefined,
    });

  route('/oauth2/*', null);
  // Open registration (RFC 7591 §3) needs no credentials; a budget per address keeps one caller
  // from filling the table. The limiter answers 429 before the request reaches the library.
  app.route({
    method: 'POST',
    url: '/oauth2/register',
    schema: { hide: true },
    onRequest: [
      app.rateLimit({ max: options.registrationsPerMinute, timeWindow: '1 minute' }),
      handOver(null),
    ],
    handler: async () => undefined,
  });
  route(OPENID_METADATA_PATH, null);
  route(METADATA_PATH, null);
  if (pathPrefix !== '') route(`${METADATA_PATH}${pathPrefix}`, METADATA_PATH);
};
