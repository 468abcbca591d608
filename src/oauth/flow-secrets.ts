import type { OAuthClientInformationFull } from '@modelcontextprotocol/sdk/shared/auth.js';
import { z } from 'zod';
import type { CipherKeyring } from '../credentials/index.js';
import { clientRefSchema, type ResolvedClient } from './clients.js';

/** What a callback needs that must not sit in the KV in clear: verifier, client credentials, headers. */
export interface FlowSecrets {
  codeVerifier: string;
  client: ResolvedClient;
  /** The server's `oauth_headers`, as configured when the flow began. */
  headers: Record<string, string>;
  /** False when the authorization request left out `resource`, so the code exchange does too. */
  sendResource?: boolean;
}

const flowSecretsSchema = z.object({
  codeVerifier: z.string().min(43).max(128),
  client: z.object({
    ref: clientRefSchema,
    client_id: z.string().min(1),
    client_secret: z.string().optional(),
    token_endpoint_auth_method: z.string().optional(),
    forcedAuthMethod: z.enum(['client_secret_basic', 'client_secret_post', 'none']).optional(),
  }),
  headers: z.record(z.string(), z.string()),
  sendResource: z.boolean().optional(),
});

// The AAD names the flow and the state, so a sealed blob moved onto another state never opens.
const aad = (flowId: string, state: string): string => `oauth_state|${flowId}|${state}`;

/** Seals a flow's secrets for its state record. */
export function sealFlowSecrets(
  keyring: CipherKeyring,
  flowId: string,
  state: string,
  secrets: FlowSecrets,
): string {
  return keyring.encrypt(JSON.stringify(secrets), aad(flowId, state));
}

/** Opens them again; null when the blob does not belong to this flow and state, or is malformed. */
export function openFlowSecrets(
  keyring: CipherKeyring,
  flowId: string,
  state: string,
  sealed: string,
): FlowSecrets | null {
  try {
    const parsed = flowSecretsSchema.safeParse(JSON.parse(keyring.decrypt(sealed, aad(flowId, state))));
    if (!parsed.success) return null;
    const { client, sendResource, ...rest } = parsed.data;
    return {
      ...rest,
      client: withoutUndefined(client),
      ...(sendResource === undefined ? {} : { sendResource }),
    };
  } catch {
    return null;
  }
}

function withoutUndefined(client: z.infer<typeof flowSecretsSchema>['client']): ResolvedClient {
  const { client_secret, token_endpoint_auth_method, forcedAuthMethod, ...rest } = client;
  return {
    ...rest,
    ...(client_secret === undefined ? {} : { client_secret }),
    ...(token_endpoint_auth_method === undefined ? {} : { token_endpoint_auth_method }),
    ...(forcedAuthMethod === undefined ? {} : { forcedAuthMethod }),
  };
}

/**
 * The client in the SDK's shape. The full form (with `redirect_uris`) carries the registered
 * `token_endpoint_auth_method`, which the SDK's method selection prefers.
 */
export function sdkClient(client: ResolvedClient, redirectUri: string): OAuthClientInformationFull {
  return {
    client_id: client.client_id,
    redirect_uris: [redirectUri],
    ...(client.client_secret === undefined ? {} : { client_secret: client.client_secret }),
    ...(client.token_endpoint_auth_method === undefined
      ? {}
      : { token_endpoint_auth_method: client.token_endpoint_auth_method }),
  };
}
