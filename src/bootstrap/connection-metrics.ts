import type { ConnectionPool } from '../connections/index.js';
import type { Metrics } from '../observability/index.js';

/** Counts connection outcomes per server (never per user: user ids would explode the label set). */
export function countConnections(pool: ConnectionPool, metrics: Metrics): () => void {
  return pool.onStateChange((key, state) => {
    if (state !== 'connected' && state !== 'error') return;
    const server = key.slice(key.lastIndexOf('|') + 1);
    metrics.upstreamConnects.inc({ server, outcome: state });
  });
}
