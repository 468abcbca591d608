import type { FetchLike } from '../connections/index.js';
import type { Clock, Random } from '../core/index.js';
import type { CipherKeyring } from '../credentials/index.js';
import type { Kv } from '../kv/index.js';
import type { Logger } from '../observability/index.js';
import type { ClientRegistry } from './clients.js';
import type { Discovery } from './discovery.js';
import type { FlowStore } from './flow-store.js';
import type { TokenStore } from './token-store.js';
import type { OAuthSettings } from './types.js';

/** Defaults of {@link OAuthSettings}. */
export const DEFAULT_OAUTH_SETTINGS: Readonly<OAuthSettings> = Object.freeze({
  flowTtlMs: 10 * 60_000,
  expirySkewMs: 60_000,
  metadataCacheMs: 5 * 60_000,
  requestTimeoutMs: 8_000,
  refreshLockTtlMs: 30_000,
  refreshLockWaitMs: 30_000,
  refreshAttempts: 3,
  retryBaseMs: 250,
  maxStepUps: 2,
  needsAuthTtlMs: 30 * 24 * 60 * 60_000,
});

/** The wired pieces the service's steps share (built once by `createOAuthService`). */
export interface OAuthParts {
  kv: Kv;
  clock: Clock;
  random: Random;
  logger: Logger;
  keyring: CipherKeyring;
  /** The egress path of a server's OAuth requests. */
  fetchFor: (serverName: string) => FetchLike;
  redirectUri: (serverName: string) => string;
  settings: OAuthSettings;
  sleep: (ms: number) => Promise<void>;
  flows: FlowStore;
  tokens: TokenStore;
  clients: ClientRegistry;
  discovery: Discovery;
}
