import type { AddClientAuthentication } from '@modelcontextprotocol/sdk/client/auth.js';

/** RFC 7591 §2 `token_endpoint_auth_method` values the hub can perform. */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/** The part of a client record that authenticates it. */
export interface ClientSecrets {
  client_id: string;
  client_secret?: string | undefined;
}

/** LibreChat's `oauth.token_exchange_method` in RFC 7591 terms. */
export function methodFromExchange(
  exchange: 'default_post' | 'basic_auth_header' | undefined,
): ClientAuthMethod | undefined {
  if (exchange === 'basic_auth_header') return 'client_secret_basic';
  if (exchange === 'default_post') return 'client_secret_post';
  return undefined;
}

/**
 * Picks a method from a list the AS (or the admin) supports: a secret is sent the RFC 6749 §2.3.1
 * preferred way first; without a secret only `none` fits. Undefined when the list is empty.
 */
export function pickAuthMethod(
  client: ClientSecrets & { token_endpoint_auth_method?: string | undefined },
  supported: readonly string[] | undefined,
): ClientAuthMethod | undefined {
  const registered = client.token_endpoint_auth_method;
  if (isMethod(registered) && (supported === undefined || supported.includes(registered))) return registered;
  if (supported === undefined || supported.length === 0) return undefined;
  const hasSecret = client.client_secret !== undefined && client.client_secret !== '';
  if (hasSecret && supported.includes('client_secret_basic')) return 'client_secret_basic';
  if (hasSecret && supported.includes('client_secret_post')) return 'client_secret_post';
  return supported.includes('none') ? 'none' : undefined;
}

function isMethod(value: string | undefined): value is ClientAuthMethod {
  return value === 'client_secret_basic' || value === 'client_secret_post' || value === 'none';
}

/** Applies a client authentication method to a form request (token or revocation). */
export function applyClientAuth(
  method: ClientAuthMethod,
  client: ClientSecrets,
  headers: Headers,
  params: URLSearchParams,
): void {
  const secret = client.client_secret ?? '';
  if (method === 'client_secret_basic' && secret !== '') {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before the Basic encoding.
    const credentials = `${formEncode(client.client_id)}:${formEncode(secret)}`;
    headers.set('Authorization', `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`);
    return;
  }
  params.set('client_id', client.client_id);
  if (method !== 'none' && secret !== '') params.set('client_secret', secret);
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/** The SDK hook that forces one method, for admins who configured `token_exchange_method`. */
export function forcedClientAuth(method: ClientAuthMethod, client: ClientSecrets): AddClientAuthentication {
  return (headers, params) => applyClientAuth(method, client, headers, params);
}
