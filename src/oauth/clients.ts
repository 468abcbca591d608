import { registerClient } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { z } from 'zod';
import type { ServerConfig } from '../config/index.js';
import type { FetchLike } from '../connections/index.js';
import type { Clock } from '../core/index.js';
import type { CipherKeyring } from '../credentials/index.js';
import { HubError, isHubError } from '../errors/index.js';
import type { Kv } from '../kv/index.js';
import type { Logger } from '../observability/index.js';
import { SYSTEM_USER_ID, type CredentialsRepository } from '../store/index.js';
import { methodFromExchange, pickAuthMethod, type ClientAuthMethod } from './client-auth.js';
import { registrationLockName } from './flow-ids.js';
import { toSdkMetadata } from './metadata.js';
import { observeStatus } from './oauth-fetch.js';
import { oauthErrorCode } from './token-errors.js';
import type { AuthorizationServerInfo } from './types.js';

/**
 * Where a client came from: the server's `oauth:` block, the hub's Client ID Metadata Document URL
 * (`cimd`), or dynamic registration (RFC 7591). Stored with flows and tokens, so refresh and
 * revocation present the client the tokens were issued to.
 */
export const clientRefSchema = z.enum(['config', 'cimd', 'dcr']);
export type ClientRef = z.infer<typeof clientRefSchema>;

/** A client ready for the SDK's helpers. */
export interface ResolvedClient {
  ref: ClientRef;
  client_id: string;
  client_secret?: string;
  /** What the AS registered (DCR), or `none` for a CIMD client: the SDK prefers it when supported. */
  token_endpoint_auth_method?: string;
  /** Set when the admin configured the method: the hub then applies exactly that one. */
  forcedAuthMethod?: ClientAuthMethod;
}

/** What {@link createClientRegistry} needs. */
export interface ClientRegistryDeps {
  credentials: CredentialsRepository;
  keyring: CipherKeyring;
  kv: Kv;
  clock: Clock;
  logger: Logger;
  /** Already checked by `checkClientMetadataUrl`; unset means the hub never offers CIMD. */
  clientMetadataUrl?: string | undefined;
}

/** Input naming the server, its AS and config. */
export interface ClientLookup {
  serverName: string;
  config: ServerConfig;
  as: AuthorizationServerInfo;
}

/** Pre-registered clients, the hub's CIMD client, and DCR registrations (one per server and issuer). */
export interface ClientRegistry {
  /**
   * The client to authorize with, in the MCP 2025-11-25 order: pre-registered, then the metadata
   * document URL when the AS supports it, then a stored or new dynamic registration.
   */
  forAuthorization(
    input: ClientLookup & { redirectUri: string; scope: string | undefined; fetch: FetchLike },
  ): Promise<ResolvedClient>;
  /** The client tokens were issued to, for refresh and revocation; never registers. */
  existing(input: ClientLookup & { ref: ClientRef }): Promise<ResolvedClient | null>;
}

const storedClientSchema = z.object({
  client_id: z.string().min(1),
  client_secret: z.string().optional(),
  client_secret_expires_at: z.number().optional(),
  token_endpoint_auth_method: z.string().optional(),
  redirect_uris: z.array(z.string()),
  issuer: z.string(),
  registered_at: z.number(),
});
type StoredClient = z.infer<typeof storedClientSchema>;

/** AAD binds a registration to its server and AS, so it is never presented to another (OA-17). */
function clientAad(serverName: string, issuer: string): string {
  return `oauth_client|${serverName}|${issuer}`;
}

/** Builds the {@link ClientRegistry}. */
export function createClientRegistry(deps: ClientRegistryDeps): ClientRegistry {
  return new StoredClientRegistry(deps);
}

/** The dynamic registration a flow asks for: the server, its AS and config, and how to reach the AS. */
type RegistrationInput = ClientLookup & { redirectUri: string; scope: string | undefined; fetch: FetchLike };

/**
 * The {@link ClientRegistry} over the credentials table: DCR registrations are stored encrypted
 * under the system user, one row per (server, issuer), bound to both by their AAD (OA-17).
 */
class StoredClientRegistry implements ClientRegistry {
  constructor(private readonly deps: ClientRegistryDeps) {}

  async forAuthorization(input: RegistrationInput): Promise<ResolvedClient> {
    const configured = fromConfig(input.config);
    if (configured) return configured;
    if (input.as.clientIdMetadataDocumentSupported) {
      const cimd = this.metadataDocumentClient();
      if (cimd) return cimd;
    }
    const first = await this.load(input.serverName, input.as.issuer);
    if (this.usable(first, input.redirectUri)) return fromStored(first);
    // One registration per (server, issuer) even when many users start at once, on any instance.
    return this.deps.kv.withLock(
      registrationLockName(input.serverName, input.as.issuer),
      { ttlMs: 30_000, waitMs: 30_000 },
      async () => {
        const again = await this.load(input.serverName, input.as.issuer);
        return fromStored(this.usable(again, input.redirectUri) ? again : await this.register(input));
      },
    );
  }

  async existing(input: ClientLookup & { ref: ClientRef }): Promise<ResolvedClient | null> {
    if (input.ref === 'config') return fromConfig(input.config);
    // Not conditional on the AS still advertising CIMD: the tokens were issued to this client id.
    // Without a metadata URL any more, the tokens' client is gone.
    if (input.ref === 'cimd') return this.metadataDocumentClient();
    const stored = await this.load(input.serverName, input.as.issuer);
    return stored ? fromStored(stored) : null;
  }

  /** The hub's URL client id: a public client whose metadata the AS fetches, so nothing is registered. */
  private metadataDocumentClient(): ResolvedClient | null {
    const url = this.deps.clientMetadataUrl;
    return url === undefined ? null : { ref: 'cimd', client_id: url, token_endpoint_auth_method: 'none' };
  }

  private async load(serverName: string, issuer: string): Promise<StoredClient | null> {
    const row = await this.deps.credentials.get(rowKey(serverName, issuer));
    if (!row) return null;
    try {
      const parsed = storedClientSchema.safeParse(
        JSON.parse(this.deps.keyring.decrypt(row.ciphertext, clientAad(serverName, issuer))),
      );
      return parsed.success && parsed.data.issuer === issuer ? parsed.data : null;
    } catch (error) {
      if (!isHubError(error, 'HUB_ERR_DECRYPT_FAILED')) throw error;
      this.deps.logger.warn(
        { serverName, issuer },
        'Stored OAuth client failed to decrypt; registering again',
      );
      return null;
    }
  }

  private usable(client: StoredClient | null, redirectUri: string): client is StoredClient {
    return (
      client !== null &&
      // A changed PUBLIC_URL changes the redirect URI: that registration no longer fits.
      client.redirect_uris.includes(redirectUri) &&
      // RFC 7591 §3.2.1: 0 means the secret never expires.
      !(client.client_secret_expires_at && client.client_secret_expires_at * 1000 <= this.deps.clock.now())
    );
  }

  /** Registers the hub with the AS (RFC 7591) and stores the registration, encrypted. */
  private async register(input: RegistrationInput): Promise<StoredClient> {
    const { serverName, as } = input;
    if (as.registrationEndpoint === undefined) {
      throw new HubError('HUB_ERR_OAUTH_REGISTRATION_FAILED', {
        message: as.clientIdMetadataDocumentSupported
          ? 'The authorization server offers no dynamic client registration but accepts Client ID Metadata Documents; configure oauth.client_id for this server, or give the hub a client metadata URL'
          : 'The authorization server offers no dynamic client registration; configure oauth.client_id for this server',
      });
    }
    const authMethod = methodFromExchange(input.config.oauth?.token_exchange_method) ?? 'none';
    // OA-18: a web client, refresh allowed, the hub's exact callback, the configured auth method.
    const clientMetadata: OAuthClientMetadata & { application_type: 'web' } = {
      application_type: 'web',
      client_name: 'Switchboard',
      redirect_uris: [input.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: authMethod,
    };
    const observed = observeStatus(input.fetch);
    let registered;
    try {
      registered = await registerClient(as.issuer, {
        metadata: toSdkMetadata(as),
        clientMetadata,
        // No `scope` (optional, RFC 7591 §2): the registration is shared by every user of the server,
        // and one narrowed to the first flow's scope makes each later step-up fail with invalid_scope.
        fetchFn: observed.fetch,
      });
    } catch (error) {
      // SE-08: status and a sanitised error code only; the AS's body may echo anything.
      this.deps.logger.warn(
        { serverName, issuer: as.issuer, status: observed.lastStatus(), oauthError: oauthErrorCode(error) },
        'OAuth dynamic client registration failed',
      );
      throw new HubError('HUB_ERR_OAUTH_REGISTRATION_FAILED', { cause: error });
    }
    const stored: StoredClient = {
      client_id: registered.client_id,
      redirect_uris: registered.redirect_uris.length > 0 ? registered.redirect_uris : [input.redirectUri],
      issuer: as.issuer,
      registered_at: this.deps.clock.now(),
      ...(registered.client_secret === undefined ? {} : { client_secret: registered.client_secret }),
      ...(registered.client_secret_expires_at === undefined
        ? {}
        : { client_secret_expires_at: registered.client_secret_expires_at }),
      ...(registered.token_endpoint_auth_method === undefined
        ? {}
        : { token_endpoint_auth_method: registered.token_endpoint_auth_method }),
    };
    await this.deps.credentials.put({
      ...rowKey(serverName, as.issuer),
      keyId: this.deps.keyring.activeKeyId,
      ciphertext: this.deps.keyring.encrypt(JSON.stringify(stored), clientAad(serverName, as.issuer)),
    });
    this.deps.logger.info({ serverName, issuer: as.issuer }, 'Registered the hub as an OAuth client');
    return stored;
  }
}

/** The credentials row of a (server, issuer) registration. */
function rowKey(serverName: string, issuer: string) {
  return { userId: SYSTEM_USER_ID, serverName, kind: 'oauth_client' as const, issuer };
}

function fromStored(c: StoredClient): ResolvedClient {
  return {
    ref: 'dcr',
    client_id: c.client_id,
    ...(c.client_secret === undefined ? {} : { client_secret: c.client_secret }),
    ...(c.token_endpoint_auth_method === undefined
      ? {}
      : { token_endpoint_auth_method: c.token_endpoint_auth_method }),
  };
}

/** The admin's pre-registered client (LibreChat's `oauth.client_id` etc.), when there is one. */
function fromConfig(config: ServerConfig): ResolvedClient | null {
  const oauth = config.oauth;
  if (oauth?.client_id === undefined) return null;
  const secrets = {
    client_id: oauth.client_id,
    ...(oauth.client_secret === undefined || oauth.client_secret === ''
      ? {}
      : { client_secret: oauth.client_secret }),
  };
  const forced =
    methodFromExchange(oauth.token_exchange_method) ??
    pickAuthMethod(secrets, oauth.token_endpoint_auth_methods_supported);
  return { ref: 'config', ...secrets, ...(forced === undefined ? {} : { forcedAuthMethod: forced }) };
}
