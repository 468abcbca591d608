import type { AuthorizationServerMetadata, OAuthMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { z } from 'zod';
import { HubError } from '../errors/index.js';
import { checkOAuthUrl, must, sameIssuer } from './safe-urls.js';
import type { AuthorizationServerInfo } from './types.js';

// Fields the SDK's OpenID schema strips, read back from the raw document (RFC 7009 §2, RFC 9207 §3).
const extrasSchema = z.object({
  revocation_endpoint: z.string().optional().catch(undefined),
  revocation_endpoint_auth_methods_supported: z.array(z.string()).optional().catch(undefined),
  authorization_response_iss_parameter_supported: z.boolean().optional().catch(undefined),
  code_challenge_methods_supported: z.array(z.string()).optional().catch(undefined),
  client_id_metadata_document_supported: z.boolean().optional().catch(undefined),
  jwks_uri: z.string().optional().catch(undefined),
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns the metadata the SDK accepted into the hub's own shape, refusing what is unsafe:
 * RFC 8414 §3.3 / OIDC Discovery §4.3 issuer equality (SS-13), and http(s)-only endpoints (SS-10,
 * SS-11). `documents` are the raw bodies fetched during discovery.
 */
export function readServerMetadata(
  asUrl: string,
  metadata: AuthorizationServerMetadata,
  documents: readonly unknown[],
): AuthorizationServerInfo {
  if (!sameIssuer(metadata.issuer, asUrl)) {
    throw new HubError('HUB_ERR_OAUTH_METADATA_INVALID', {
      message: 'The authorization server metadata names a different issuer than the URL it came from',
    });
  }
  const raw = documents.find(
    (d) => isRecord(d) && d.issuer === metadata.issuer && d.token_endpoint === metadata.token_endpoint,
  );
  const extras = extrasSchema.parse(isRecord(raw) ? raw : {});
  const authorization = must(checkOAuthUrl(metadata.authorization_endpoint, 'authorization_endpoint'));
  const token = must(checkOAuthUrl(metadata.token_endpoint, 'token_endpoint'));
  const registration =
    metadata.registration_endpoint === undefined
      ? undefined
      : must(checkOAuthUrl(metadata.registration_endpoint, 'registration_endpoint'));
  const revocation =
    extras.revocation_endpoint === undefined
      ? undefined
      : must(checkOAuthUrl(extras.revocation_endpoint, 'revocation_endpoint'));
  if (extras.jwks_uri !== undefined) must(checkOAuthUrl(extras.jwks_uri, 'jwks_uri'));
  const challengeMethods =
    metadata.code_challenge_methods_supported ?? extras.code_challenge_methods_supported;
  const revocationAuth = extras.revocation_endpoint_auth_methods_supported;
  const cimdSupported =
    metadata.client_id_metadata_document_supported ?? extras.client_id_metadata_document_supported;
  return {
    issuer: metadata.issuer,
    authorizationEndpoint: authorization.href,
    tokenEndpoint: token.href,
    responseTypesSupported: metadata.response_types_supported,
    issParameterSupported: extras.authorization_response_iss_parameter_supported === true,
    clientIdMetadataDocumentSupported: cimdSupported === true,
    issuerMatch: 'exact',
    ...(registration ? { registrationEndpoint: registration.href } : {}),
    ...(revocation ? { revocationEndpoint: revocation.href } : {}),
    ...(challengeMethods ? { codeChallengeMethodsSupported: challengeMethods } : {}),
    ...(metadata.token_endpoint_auth_methods_supported
      ? { tokenEndpointAuthMethodsSupported: metadata.token_endpoint_auth_methods_supported }
      : {}),
    ...(revocationAuth ? { revocationEndpointAuthMethodsSupported: revocationAuth } : {}),
  };
}

/** The SDK's metadata shape, rebuilt from the validated view, for its token and registration helpers. */
export function toSdkMetadata(info: AuthorizationServerInfo): OAuthMetadata {
  return {
    issuer: info.issuer,
    authorization_endpoint: info.authorizationEndpoint,
    token_endpoint: info.tokenEndpoint,
    response_types_supported: info.responseTypesSupported,
    ...(info.registrationEndpoint ? { registration_endpoint: info.registrationEndpoint } : {}),
    ...(info.revocationEndpoint ? { revocation_endpoint: info.revocationEndpoint } : {}),
    ...(info.codeChallengeMethodsSupported
      ? { code_challenge_methods_supported: info.codeChallengeMethodsSupported }
      : {}),
    ...(info.tokenEndpointAuthMethodsSupported
      ? { token_endpoint_auth_methods_supported: info.tokenEndpointAuthMethodsSupported }
      : {}),
    ...(info.clientIdMetadataDocumentSupported ? { client_id_metadata_document_supported: true } : {}),
  };
}

/** Zod schema of {@link AuthorizationServerInfo}, for reading it back from a KV state record. */
export const authorizationServerInfoSchema = z.object({
  issuer: z.string(),
  authorizationEndpoint: z.string(),
  tokenEndpoint: z.string(),
  registrationEndpoint: z.string().optional(),
  revocationEndpoint: z.string().optional(),
  responseTypesSupported: z.array(z.string()),
  codeChallengeMethodsSupported: z.array(z.string()).optional(),
  tokenEndpointAuthMethodsSupported: z.array(z.string()).optional(),
  revocationEndpointAuthMethodsSupported: z.array(z.string()).optional(),
  issParameterSupported: z.boolean(),
  // State records written before the hub knew this field read back as "not supported".
  clientIdMetadataDocumentSupported: z.boolean().default(false),
  issuerMatch: z.enum(['exact', 'origin']),
});
