import type { FastifyPluginAsync } from 'fastify';
import { clientMetadataDocument } from '../../oauth/index.js';

/** Options for {@link clientMetadataRoute}. */
export interface ClientMetadataRouteOptions {
  /** The client id: the document's own URL (OAUTH_CLIENT_METADATA_URL). */
  clientMetadataUrl: string;
  publicUrl: string;
  /** Every server name a callback may be for, at the time of the request. */
  serverNames: () => Promise<string[]>;
}

/**
 * Serves the hub's OAuth Client ID Metadata Document when its URL lies under PUBLIC_URL. The
 * authorization server matches `redirect_uri` exactly against this list, so it names the callback
 * of every server known now; a short cache lifetime lets a new server's callback appear soon.
 */
export const clientMetadataRoute: FastifyPluginAsync<ClientMetadataRouteOptions> = async (app, options) => {
  const base = options.publicUrl.endsWith('/') ? options.publicUrl : `${options.publicUrl}/`;
  if (!options.clientMetadataUrl.startsWith(base)) return; // hosted elsewhere by the operator
  const publicPath = new URL(options.publicUrl).pathname.replace(/\/+$/, '');
  const path = new URL(options.clientMetadataUrl).pathname.slice(publicPath.length);
  app.get(path, { schema: { hide: true } }, async (_request, reply) => {
    const names = await options.serverNames();
    const document = clientMetadataDocument({
      clientId: options.clientMetadataUrl,
      clientName: 'Switchboard',
      clientUri: options.publicUrl,
      redirectUris: names.map((name) => `${options.publicUrl}/api/mcp/${name}/oauth/callback`),
    });
    return reply.header('cache-control', 'public, max-age=300').type('application/json').send(document);
  });
};
