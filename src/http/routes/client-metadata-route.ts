import type { FastifyPluginAsync } from 'fastify';
import { clientMetadataDocument } from '../../oauth/index.js';
import { oauthCallbackUrl } from './oauth-callback-route.js';

/** Options for {@link clientMetadataRoute}. */
export interface ClientMetadataRouteOptions {
  /** The client id: the document's own URL (OAUTH_CLIENT_METADATA_URL). */
  clientMetadataUrl: string;
  publicUrl: string;
  /**
   * The servers of the configuration file, each with its own callback path. Users' servers are not
   * asked for: they share one callback path, so this public document names none of them (V-09).
   */
  configServerNames: () => readonly string[];
}

/**
 * Serves the hub's OAuth Client ID Metadata Document when its URL lies under PUBLIC_URL. The
 * authorization server matches `redirect_uri` exactly against this list, so it names the callback
 * of every server of the configuration file and the one path users' servers share.
 */
export const clientMetadataRoute: FastifyPluginAsync<ClientMetadataRouteOptions> = async (app, options) => {
  const base = options.publicUrl.endsWith('/') ? options.publicUrl : `${options.publicUrl}/`;
  if (!options.clientMetadataUrl.startsWith(base)) return; // hosted elsewhere by the operator
  const publicPath = new URL(options.publicUrl).pathname.replace(/\/+$/, '');
  const path = new URL(options.clientMetadataUrl).pathname.slice(publicPath.length);
  app.get(path, { schema: { hide: true } }, async (_request, reply) => {
    const document = clientMetadataDocument({
      clientId: options.clientMetadataUrl,
      clientName: 'Switchboard',
      clientUri: options.publicUrl,
      redirectUris: [
        ...options.configServerNames().map((name) => oauthCallbackUrl(options.publicUrl, name)),
        oauthCallbackUrl(options.publicUrl, null),
      ],
    });
    return reply.header('cache-control', 'public, max-age=300').type('application/json').send(document);
  });
};
