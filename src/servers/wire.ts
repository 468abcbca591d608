import type { HubConfig } from '../config/index.js';
import type { Clock } from '../core/index.js';
import type { Kv, KvUnsubscribe } from '../kv/index.js';
import type { CipherKeyring } from '../credentials/index.js';
import type { OAuthService } from '../oauth/index.js';
import type { Logger } from '../observability/index.js';
import { createServerRegistry, type ServerRegistry } from '../registry/index.js';
import { aclBits, type Repositories } from '../store/index.js';
import type { ToolCache } from '../tools/index.js';
import { publishServerChange, watchServerChanges } from '../upstreams/index.js';
import { createServerAccess, type ServerAccess } from './access.js';
import { createAuditLog, type AuditLog } from './audit-log.js';
import { createDbServerTier } from './db-tier.js';
import type { UrlCheck } from './inspect-server.js';
import type { ServerInspector } from './inspector.js';
import type { CatalogChange } from './catalog-change.js';
import type { Reopen } from './reopen-connections.js';
import { createServerConnections, type PoolHandle } from './server-connections.js';
import { createServersService, type ServersService } from './servers-service.js';
import { createSharingService, type SharingService } from './sharing-service.js';

/** Longest an inspection may take unless the server's own init timeout is shorter. */
export const DEFAULT_INSPECTION_TIMEOUT_MS = 15_000;

/** What the servers feature is built from; `createHub` has every part. */
export interface ServersFeatureDeps {
  config: Pick<HubConfig, 'mcpServers' | 'mcpSettings'>;
  repos: Repositories;
  /** The credentials keyring: server secrets are sealed with it. */
  keyring: CipherKeyring;
  /** The connection pool (edits and unsharing close connections). */
  pool: PoolHandle;
  tools: Pick<ToolCache, 'invalidate'>;
  /** Connects once to a server being saved; build it with `createServerInspector` over the egress guard. */
  inspect: ServerInspector;
  /** The egress guard's `checkUrl`: refuses a denied destination before any socket opens. */
  checkUrl?: UrlCheck;
  clock: Clock;
  logger: Logger;
  inspectionTimeoutMs?: number;
  /**
   * Opens a user's connection again as their request would (the upstream service's connect): after
   * an edit, the connections closed for it reopen with the new config. Without it, they reopen on
   * their users' next requests.
   */
  reopen?: Reopen;
  /** Hears of every change to who sees which server (see {@link CatalogChange}). */
  onCatalogChanged?: (change: CatalogChange) => void;
  /** Pending OAuth flows: moving a server cancels its users' flows. */
  oauthFlows?: Pick<OAuthService, 'cancel'>;
  /**
   * The KV shared by every instance: a deletion, an edit or an unsharing closes connections on all
   * of them. Without it, only this instance's connections close.
   */
  events?: Pick<Kv, 'publish' | 'subscribe'>;
}

/** The feature's services: the registry (YAML and DB tiers) replaces the YAML-only one. */
export interface ServersFeature {
  registry: ServerRegistry;
  servers: ServersService;
  sharing: SharingService;
  audit: AuditLog;
  /** Resolves once this instance hears other instances' server changes (at once without `events`). */
  listening: Promise<void>;
  /** Stops hearing them. */
  stop(): Promise<void>;
}

/** True when the user may no longer see the server: gone, or no VIEW bit left (as a request decides). */
function accessCheck(repos: Repositories, access: ServerAccess) {
  return async (serverName: string, userId: string): Promise<boolean> => {
    const record = await repos.servers.findByName(serverName);
    if (record === null) return true;
    const user = await repos.users.findById(userId);
    if (user === null || user.disabledAt !== null) return true;
    return ((await access.bitsFor(record, { userId, role: user.role })) & aclBits.VIEW) === 0;
  };
}

/** Builds the servers feature: the one place its parts are put together. */
export function createServersFeature(deps: ServersFeatureDeps): ServersFeature {
  const { repos, logger } = deps;
  const access = createServerAccess({ acl: repos.acl, groups: repos.groups });
  const db = createDbServerTier({ servers: repos.servers, access, keyring: deps.keyring, logger });
  const registry = createServerRegistry(deps.config, { db });
  const yaml = registry.yamlServers();
  const events = deps.events;
  const connections = createServerConnections({
    pool: deps.pool,
    tools: deps.tools,
    logger,
    lostAccess: accessCheck(repos, access),
    publish: events ? (change) => publishServerChange(events, change) : undefined,
    reopen: deps.reopen,
    onCatalogChanged: deps.onCatalogChanged,
  });
  const subscription: Promise<KvUnsubscribe | undefined> = events
    ? watchServerChanges(events, async (change) => {
        try {
          await connections.apply(change);
        } catch (err) {
          logger.warn({ err, server: change.serverName }, 'could not apply a server change');
        }
      }).catch((err: unknown) => {
        logger.error({ err }, 'cannot hear server changes: other instances close connections at idle time');
        return undefined;
      })
    : Promise.resolve(undefined);
  const servers = createServersService({
    repos,
    keyring: deps.keyring,
    yaml,
    access,
    connections,
    inspection: {
      inspect: deps.inspect,
      checkUrl: deps.checkUrl,
      settings: deps.config.mcpSettings,
      timeoutMs: deps.inspectionTimeoutMs ?? DEFAULT_INSPECTION_TIMEOUT_MS,
      clock: deps.clock,
      logger,
    },
    logger,
    oauthFlows: deps.oauthFlows,
  });
  const sharing = createSharingService({ repos, yaml, access, connections });
  return {
    registry,
    servers,
    sharing,
    audit: createAuditLog({ audit: repos.audit, users: repos.users }),
    listening: subscription.then(() => undefined),
    stop: async () => {
      await (
        await subscription
      )?.();
    },
  };
}
