import type { HubConfig } from '../config/index.js';
import type { Clock } from '../core/index.js';
import type { Kv } from '../kv/index.js';
import type { Logger } from '../observability/index.js';
import {
  CATALOG_CHANNEL,
  createServerInspector,
  createServersFeature,
  type ServersFeature,
} from '../servers/index.js';
import type { Repositories } from '../store/index.js';
import type { Cleanups } from './cleanups.js';
import type { ConnectionParts } from './connection-wiring.js';
import type { LateHooks } from './late-hooks.js';

/** The admin's and the users' servers, their sharing, and what a change to one does everywhere. */
export function buildServers(
  deps: {
    config: HubConfig;
    repos: Repositories;
    kv: Kv;
    connections: ConnectionParts;
    clock: Clock;
    logger: Logger;
  },
  hooks: LateHooks,
  cleanups: Cleanups,
): ServersFeature {
  const { kv, logger, clock, connections } = deps;
  const servers = createServersFeature({
    config: deps.config,
    repos: deps.repos,
    keyring: connections.keyring,
    pool: connections.pool,
    tools: connections.tools,
    clock,
    logger,
    inspect: createServerInspector({
      fetch: connections.userEgress.withLimits({ streaming: true }),
      logger,
      clock,
    }),
    checkUrl: (url) => connections.userEgress.checkUrl(url),
    // Moving a server cancels its pending OAuth flows (the OAuth service is built later).
    oauthFlows: { cancel: (flowId) => hooks.cancelFlow(flowId) },
    // Deletions, edits and unsharing close connections on every instance.
    events: kv,
    reopen: (serverName, userId, profile) => hooks.reopen(serverName, userId, profile),
    // Every instance's MCP sessions hear of it (tools/list_changed).
    onCatalogChanged: (change) => {
      kv.publish(CATALOG_CHANNEL, JSON.stringify(change)).catch((err: unknown) =>
        logger.warn({ err, server: change.serverName }, 'could not announce a catalog change'),
      );
    },
  });
  cleanups.push(() => servers.stop());
  return servers;
}
