import { fail, ok, type Result } from '../errors/index.js';

/**
 * What the hub says about itself as an OAuth client when its `client_id` is a URL (OAuth Client ID
 * Metadata Document, draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25 authorization,
 * "Client ID Metadata Documents").
 */
export interface ClientMetadataDocument {
  /** CIMD, "Client Metadata": equal, character for character, to the URL the document is served at. */
  client_id: string;
  client_name: string;
  client_uri?: string;
  redirect_uris: string[];
  grant_types: ['authorization_code', 'refresh_token'];
  response_types: ['code'];
  /** CIMD forbids shared-secret methods for a URL client id: the hub is a public client there. */
  token_endpoint_auth_method: 'none';
  application_type: 'web';
}

/** Input of {@link clientMetadataDocument}. */
export interface ClientMetadataDocumentInput {
  /** The document's own URL, already accepted by {@link checkClientMetadataUrl}. */
  clientId: string;
  clientName: string;
  /** Every callback URL the hub may send an authorization request with (exact match at the AS). */
  redirectUris: readonly string[];
  /** The hub's home page, shown by some authorization servers on their consent screen. */
  clientUri?: string | undefined;
}

/**
 * The JSON document the hub serves at its client metadata URL. Pure: the route that serves it
 * decides the redirect URIs and caching.
 */
export function clientMetadataDocument(input: ClientMetadataDocumentInput): ClientMetadataDocument {
  return {
    client_id: input.clientId,
    client_name: input.clientName,
    ...(input.clientUri === undefined ? {} : { client_uri: input.clientUri }),
    redirect_uris: [...input.redirectUris],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    application_type: 'web',
  };
}

const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/**
 * Checks the URL the hub would use as its `client_id` (CIMD, "Client Identifier"; MCP "Client ID
 * Metadata Documents"): https, a path below the root, no dot segments, no credentials, no fragment. It must
 * also be written the way the URL parser writes it: authorization servers compare client ids as
 * strings, and the same string is the document's `client_id`, so one spelling is used everywhere.
 */
export function checkClientMetadataUrl(value: unknown): Result<string> {
  const invalid = (why: string): Result<string> =>
    fail('HUB_ERR_CONFIG_INVALID', `The OAuth client metadata URL ${why}`);
  if (typeof value !== 'string' || value === '') return invalid('is empty');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return invalid('is not a URL');
  }
  if (url.protocol !== 'https:') return invalid('must use https');
  if (url.username !== '' || url.password !== '') return invalid('must not carry credentials');
  if (value.includes('#')) return invalid('must not have a fragment');
  // The parser removes dot segments, so they are looked for in the text as written.
  const writtenPath =
    value
      .slice(value.indexOf('//') + 2)
      .replace(/^[^/?]*/, '')
      .split('?')[0] ?? '';
  if (writtenPath.split('/').some((segment) => DOT_SEGMENT.test(segment))) {
    return invalid('must not contain "." or ".." path segments');
  }
  if (url.pathname === '/') return invalid('must have a path, e.g. https://hub.example/oauth/client.json');
  if (url.href !== value) return invalid(`must be written in normalised form: ${url.href}`);
  return ok(url.href);
}
