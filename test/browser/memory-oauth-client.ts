import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';

/**
 * The MCP SDK's OAuth client interface kept in memory, as a native app keeps it: a public client
 * (PKCE, no secret) registered dynamically with one loopback redirect URI. Instead of opening a
 * browser it keeps the authorization URL, so the test can open it in Chromium.
 */
export class MemoryOAuthClient implements OAuthClientProvider {
  readonly #redirectUri: string;
  readonly #clientName: string;
  #information: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #codeVerifier: string | undefined;
  #authorizationUrl: URL | undefined;

  constructor(redirectUri: string, clientName: string) {
    this.#redirectUri = redirectUri;
    this.#clientName = clientName;
  }

  get redirectUrl(): string {
    return this.#redirectUri;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.#clientName,
      redirect_uris: [this.#redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.#information;
  }

  saveClientInformation(information: OAuthClientInformationMixed): void {
    this.#information = information;
  }

  tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
  }

  redirectToAuthorization(authorizationUrl: URL): void {
    this.#authorizationUrl = authorizationUrl;
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.#codeVerifier = codeVerifier;
  }

  codeVerifier(): string {
    if (this.#codeVerifier === undefined) throw new Error('no code verifier saved');
    return this.#codeVerifier;
  }

  /** The authorization URL the SDK asked to open; throws when it has not asked yet. */
  get authorizationUrl(): URL {
    if (this.#authorizationUrl === undefined) throw new Error('the SDK has not asked to open a browser');
    return this.#authorizationUrl;
  }
}
