import type { ServerConfig } from '../config/index.js';
import type { FetchLike } from '../connections/index.js';
import type { Clock, Random } from '../core/index.js';
import type { CipherKeyring, CredentialCache } from '../credentials/index.js';
import type { Kv } from '../kv/index.js';
import type { Logger } from '../observability/index.js';
import type { CredentialsRepository } from '../store/index.js';
import type { UncheckedTokens } from './token-store.js';

/** Tunables of the OAuth client; every field has a default (see `DEFAULT_OAUTH_SETTINGS`). */
export interface OAuthSettings {
  /** Lifetime of a state and its flow record; RFC 9700 §4.7: short-lived. Default 10 min. */
  flowTtlMs: number;
  /** A token this close to `expires_at` counts as stale and is refreshed (FT-12). Default 60 s. */
  expirySkewMs: number;
  /** How long discovered metadata is reused in memory. Default 5 min. */
  metadataCacheMs: number;
  /** Budget of one OAuth HTTP request (discovery, registration, token, revoke). Default 8 s. */
  requestTimeoutMs: number;
  /** The cross-instance refresh lock: lifetime and how long a second caller waits for it. */
  refreshLockTtlMs: number;
  refreshLockWaitMs: number;
  /** Attempts of a refresh against a failing (5xx, timeout) token endpoint (FT-09). Default 3. */
  refreshAttempts: number;
  /** First back-off between refresh attempts; doubled each time, with full jitter. Default 250 ms. */
  retryBaseMs: number;
  /** Step-up re-authorizations allowed per (user, server) within one flow window (OA-21). Default 2. */
  maxStepUps: number;
  /** How long a failed refresh is remembered as `needs_auth` when no tokens remain. Default 30 days. */
  needsAuthTtlMs: number;
}

/** What {@link createOAuthService} is built from (every side effect passed in). */
export interface OAuthServiceDeps {
  /** States, flow records, locks, completion events. Redis when several instances share work. */
  kv: Kv;
  /** Encrypted rows: kinds `oauth_tokens` (per user) and `oauth_client` (under `SYSTEM_USER_ID`). */
  credentials: CredentialsRepository;
  keyring: CipherKeyring;
  /** Every OAuth request goes through this; the hub passes its egress guard. */
  fetch: FetchLike;
  /**
   * The egress path of one server's OAuth requests (discovery, registration, token, refresh,
   * revoke), when it differs by server: a user's server must not reach what only the admin's
   * servers may (the admin's implicit allowlist). Default: `fetch` for every server.
   */
  fetchFor?: (serverName: string) => FetchLike;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** The hub's own callback URL for a server; a config `oauth.redirect_uri` is never used (OA-14). */
  redirectUri: (serverName: string) => string;
  /** Key of the browser-binding HMAC. At least 32 bytes. */
  secret: Buffer;
  settings?: Partial<OAuthSettings>;
  /**
   * The hub's OAuth Client ID Metadata Document URL: an https URL with a path, where the hub serves
   * `clientMetadataDocument(...)`. When set, an AS advertising `client_id_metadata_document_supported`
   * gets it as the `client_id` instead of a dynamic registration. `createOAuthService` throws
   * `HUB_ERR_CONFIG_INVALID` when it is malformed.
   */
  clientMetadataUrl?: string | undefined;
  /** Waits between refresh retries; real timers unless a test passes its own. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Decrypted token sets kept in memory (each save and delete forgets them on every instance);
   * without it every use reads and decrypts the row.
   */
  tokenCache?: CredentialCache<UncheckedTokens | null> | undefined;
}

/** The parameters of a `WWW-Authenticate: Bearer` challenge that steer authorization. */
export interface OAuthChallenge {
  /** RFC 9728 §5.1: where the protected resource metadata lives. */
  resourceMetadataUrl?: string | undefined;
  /** RFC 6750 §3: the scope the resource asks for (step-up when a token already exists). */
  scope?: string | undefined;
  /** RFC 6750 §3.1 `error`, e.g. `insufficient_scope` (a step-up, OA-21) or `invalid_token`. */
  error?: string | undefined;
}

/** One user's (or `system`'s) view of one server. */
export interface OAuthServerContext {
  userId: string;
  serverName: string;
  /** The server URL as the hub connects to it (placeholders already resolved). */
  serverUrl: string;
  config: ServerConfig;
}

/** A normalised, validated view of an authorization server: only what the hub uses. */
export interface AuthorizationServerInfo {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  registrationEndpoint?: string | undefined;
  revocationEndpoint?: string | undefined;
  responseTypesSupported: string[];
  codeChallengeMethodsSupported?: string[] | undefined;
  tokenEndpointAuthMethodsSupported?: string[] | undefined;
  revocationEndpointAuthMethodsSupported?: string[] | undefined;
  /** RFC 9207 §3: the AS promises `iss` in every authorization response. */
  issParameterSupported: boolean;
  /** The AS accepts a Client ID Metadata Document URL as `client_id` (MCP 2025-11-25 authorization). */
  clientIdMetadataDocumentSupported: boolean;
  /**
   * How a callback's `iss` is compared: `exact` for discovered metadata (RFC 9207 §2.4), `origin`
   * for endpoints configured by hand, whose true issuer identifier the hub never learned.
   */
  issuerMatch: 'exact' | 'origin';
}

/** What discovery found for a server: the AS to use and the resource to ask it for. */
export interface OAuthDiscovery {
  authorizationServer: AuthorizationServerInfo;
  /** RFC 8707 resource indicator: the PRM `resource` verbatim, else the server URL without fragment. */
  resource: string;
  /** RFC 9728 `scopes_supported`, when the PRM lists any. */
  scopesSupported?: string[];
  /** `configured` when `oauth.authorization_url` and `oauth.token_url` skipped discovery. */
  source: 'discovered' | 'configured';
}

/** Result of {@link OAuthService.initiate}. */
export interface InitiatedFlow {
  /** `userId:serverName`: the id of the status, cancel and binding APIs. */
  flowId: string;
  /** Where the browser goes; an http(s) URL built from validated metadata. */
  authorizationUrl: string;
  /** The RFC 6749 `state` of this attempt. Never log it. */
  state: string;
}

/** Lifecycle of a flow record. */
export type FlowStatusName = 'PENDING' | 'COMPLETED' | 'FAILED';

/** What {@link OAuthService.flowStatus} reports. */
export interface FlowStatusView {
  status: FlowStatusName;
  /** A safe error code (`callback_failed`, an AS `error`…) once FAILED; null otherwise. */
  error: string | null;
}

/** The error codes a callback can end with (the `error` of the `/oauth/error` page). */
export type CallbackErrorCode =
  | 'missing_code'
  | 'missing_state'
  | 'invalid_state'
  | 'csrf_validation_failed'
  | 'callback_failed'
  // Signed in at the AS, but the tokens could not be stored yet; the same callback may be retried.
  | 'tokens_not_saved'
  // An earlier callback of this state stopped between redeeming the code and storing the tokens.
  | 'sign_in_interrupted'
  // An AS `error` (RFC 6749 §4.1.2.1), only when it matched [a-z_]{1,64}.
  | (string & Record<never, never>);

/** Input of {@link OAuthService.completeCallback}: the callback's query plus the route's binding check. */
export interface CallbackInput {
  /**
   * The server the callback path names, which must be the server the state was minted for (OA-15);
   * null on the path users' servers share, which names none.
   */
  serverName: string | null;
  /**
   * The hub URL the callback arrived at; when given it must equal the `redirect_uri` the flow was
   * started with (RFC 6749 §4.1.3). Required on the shared path, where it is the only path check.
   */
  redirectUri?: string | undefined;
  code?: string | undefined;
  state?: string | undefined;
  error?: string | undefined;
  iss?: string | undefined;
  /** True when the request carries the browser binding for this flow, or that user's session (OA-03). */
  isBound: (flow: { flowId: string; userId: string }) => boolean;
}

/**
 * Outcome of {@link OAuthService.completeCallback}. `retryable`: the flow is still open and the
 * very same callback request may be sent again (FT-05); otherwise the user starts a new sign-in.
 */
export type CallbackResult =
  | { ok: true; flowId: string; userId: string; serverName: string }
  | { ok: false; error: CallbackErrorCode; retryable?: true };

/** Non-secret facts about a stored token set (what `GET /oauth/tokens/:flowId` may show). */
export interface TokenMetadata {
  token_type: string;
  /** Epoch ms on the hub's clock; null when the AS gave no `expires_in`. */
  expires_at: number | null;
  scope: string;
}

/**
 * Where a (user, server) stands, from the tokens alone:
 * `authorized` (a usable access token), `expiring` (stale but a refresh token is held, so the next
 * use refreshes), `needs_auth` (a refresh failed or an expired token cannot be refreshed), `none`
 * (no tokens and no failure on record: the caller decides whether the server needs OAuth at all,
 * i.e. maps it to `not_required` or to `needs_auth`).
 */
export type OAuthAuthState = 'authorized' | 'expiring' | 'needs_auth' | 'none';

/** Input of {@link OAuthService.initiate}. */
export interface InitiateInput extends OAuthServerContext {
  challenge?: OAuthChallenge | undefined;
}

/** Input of {@link OAuthService.discover}. */
export interface DiscoverInput {
  serverName: string;
  serverUrl: string;
  config: ServerConfig;
  challenge?: OAuthChallenge | undefined;
}

/** The hub's OAuth client: discovery, registration, flows, callback, tokens, refresh, revocation. */
export interface OAuthService {
  /** RFC 9728 + RFC 8414/OIDC discovery (or the configured endpoints), validated; cached briefly. */
  discover(input: DiscoverInput): Promise<OAuthDiscovery>;
  /** Starts an authorization: own state and PKCE verifier per call (OA-12). Throws `HubError`. */
  initiate(input: InitiateInput): Promise<InitiatedFlow>;
  /** The browser-binding cookie value for a flow: base64url HMAC-SHA256. */
  bindingValue(flowId: string): string;
  /** Timing-safe check of a binding cookie value. */
  verifyBinding(flowId: string, cookieValue: string | undefined): boolean;
  /** Handles the redirect back from the AS (OA-01..10, 15, LD-02). Never throws. */
  completeCallback(input: CallbackInput): Promise<CallbackResult>;
  /** A usable access token (refreshed when stale), or null when the user must authorize. */
  getAccessToken(ctx: OAuthServerContext): Promise<string | null>;
  /** After the server rejected `rejectedToken` with 401: refresh once (FT-08); null = needs auth. */
  refreshAfterUnauthorized(ctx: OAuthServerContext & { rejectedToken: string }): Promise<string | null>;
  /** Wraps a fetch so each request carries the current bearer token and survives one 401. */
  authorizedFetch(base: FetchLike, ctx: OAuthServerContext): FetchLike;
  /** Non-secret facts about the user's current token set, whatever its destination. */
  tokenMetadata(userId: string, serverName: string): Promise<TokenMetadata | null>;
  /**
   * Where the (user, server) stands for a connection to `ctx.serverUrl` with `ctx.config`: tokens
   * issued for another destination or resource count as none.
   */
  authState(ctx: OAuthServerContext): Promise<OAuthAuthState>;
  flowStatus(flowId: string): Promise<FlowStatusView | null>;
  /**
   * Resolves when the flow completes or fails (woken by the completion event, no polling), when
   * `timeoutMs` passes or `signal` aborts (then with the current status), or with null when there
   * is no flow (never started, expired, cancelled).
   */
  waitForFlow(flowId: string, timeoutMs: number, signal?: AbortSignal): Promise<FlowStatusView | null>;
  /** Deletes the flow record, which makes every state minted for it unusable; true when there was one. */
  cancel(flowId: string): Promise<boolean>;
  /**
   * RFC 7009 revocation at the AS when it has an endpoint of the tokens' issuer (failures logged),
   * then deletes the tokens. Tokens for another destination are deleted without being sent.
   */
  revoke(ctx: OAuthServerContext): Promise<void>;
  /** Removes the user's tokens for the server (every issuer). */
  deleteTokens(userId: string, serverName: string): Promise<void>;
}
