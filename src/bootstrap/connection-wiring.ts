import { createHmac } from 'node:crypto';
import type { HubConfig } from '../config/index.js';
import type { Clock } from '../core/index.js';
import { ConnectionPool, groupTrackingSpawn } from '../connections/index.js';
import {
  createUserVarsStore,
  keyringFromCredentialsKey,
  parseCredentialsKey,
  type CipherKeyring,
  type UserVarsStore,
} from '../credentials/index.js';
import { HubError } from '../errors/index.js';
import type { Kv } from '../kv/index.js';
import type { EgressGuard } from '../net/index.js';
import type { Logger } from '../observability/index.js';
import type { Repositories } from '../store/index.js';
import { createToolCache, type ToolCache } from '../tools/index.js';
import type { Cleanups } from './cleanups.js';
import { CredentialCaches } from './credential-cache-wiring.js';
import { createEgressGuards } from './egress-allowlist.js';
import type { HubSecrets } from './secrets.js';

/** Longest wait for an upstream's response headers (a JSON-mode server answers a long tool call late). */
const UPSTREAM_HEADERS_TIMEOUT_MS = 10 * 60_000;

/**
 * The egress limits of MCP traffic: the time cap covers connect and headers, not an SSE body, and
 * the size cap is left to the pool, which counts each message against `mcpSettings.maxResultBytes`
 * and fails only the call concerned (a body cut by the guard would drop the whole connection).
 */
export const MCP_EGRESS_LIMITS = {
  streaming: true,
  timeoutMs: UPSTREAM_HEADERS_TIMEOUT_MS,
  maxResponseBytes: Number.MAX_SAFE_INTEGER,
};

/** Credentials in use, the ways out, and the pool of live upstream connections. */
export interface ConnectionParts {
  keyring: CipherKeyring;
  /** The key of the browser-binding cookies of OAuth flows. */
  oauthSecret: Buffer;
  credentialCaches: CredentialCaches;
  userVars: UserVarsStore;
  tools: ToolCache;
  /** The admin's servers' way out (the YAML's hosts are allowlisted). */
  egress: EgressGuard;
  /** Users' servers' way out: private addresses only through `allowedDomains`. */
  userEgress: EgressGuard;
  pool: ConnectionPool;
}

/** Builds the keyring, the credential caches, both egress guards and the connection pool. */
export function buildConnections(
  deps: {
    config: HubConfig;
    secrets: HubSecrets;
    repos: Repositories;
    kv: Kv;
    clock: Clock;
    logger: Logger;
    hostEnv: Readonly<Record<string, string | undefined>>;
  },
  cleanups: Cleanups,
): ConnectionParts {
  const { config, logger } = deps;
  // Browser-binding cookies are HMACs under a key derived from JWT_SECRET, never the secret itself.
  const oauthSecret = createHmac('sha256', deps.secrets.jwtSecret)
    .update('switchboard oauth cookies')
    .digest();
  const key = parseCredentialsKey(deps.secrets.credentialsKey);
  if (!key.ok) throw new HubError('HUB_ERR_CONFIG_INVALID', { message: key.message });
  const keyring = keyringFromCredentialsKey(key.value);
  const credentialCaches = new CredentialCaches(deps.kv, logger);
  const userVars = createUserVarsStore({
    credentials: deps.repos.credentials,
    keyring,
    cache: credentialCaches.feed.cache(),
  });
  const tools = createToolCache(deps.kv, { logger });
  // Users' servers reach only what the admin allowlisted, not every host the admin's YAML names.
  const { admin: egress, users: userEgress } = createEgressGuards(config);
  cleanups.push(
    () => egress.close(),
    () => userEgress.close(),
  );
  // stdio children get only PATH, HOME and locale from this environment (never the hub's secrets).
  const pool = new ConnectionPool({
    logger,
    clock: deps.clock,
    hostEnv: deps.hostEnv,
    // Each stdio child's group is known, so the process can kill what is left on any exit.
    spawn: groupTrackingSpawn(),
    maxResultBytes: config.mcpSettings.maxResultBytes,
    fetch: egress.withLimits(MCP_EGRESS_LIMITS),
    // Websocket servers come from the YAML only, so the admin guard opens their sockets.
    dialWebSocket: egress.dialWebSocket,
  });
  cleanups.push(() => pool.close());
  return { keyring, oauthSecret, credentialCaches, userVars, tools, egress, userEgress, pool };
}
