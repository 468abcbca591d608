import type { ConnectionPool } from '../connections/index.js';
import { USER_SERVERS_LABEL, type Metrics } from '../observability/index.js';
import { parseConnectionKey } from '../upstreams/index.js';

/**
 * Counts connection outcomes per server, never per user (user ids would explode the label set).
 * `/metrics` answers without credentials, so only servers of the configuration file are named;
 * every user-created server counts under one fixed label (V-09).
 */
export function countConnections(
  pool: ConnectionPool,
  metrics: Metrics,
  isConfigServer: (serverName: string) => boolean,
): () => void {
  return pool.onStateChange((key, state) => {
    if (state !== 'connected' && state !== 'error') return;
    const serverName = parseConnectionKey(key)?.serverName;
    const server = serverName !== undefined && isConfigServer(serverName) ? serverName : USER_SERVERS_LABEL;
    metrics.upstreamConnects.inc({ server, outcome: state });
  });
}
