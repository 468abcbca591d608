import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The `server` label of every user-created server. `/metrics` needs no credentials, so a label
 * carries only names from the configuration file, which the operator wrote (V-09). No server name
 * can take this value: names start with a letter or digit.
 */
export const USER_SERVERS_LABEL = '_user_servers';

/**
 * The hub's Prometheus metrics, one registry per app instance (no global state). Label values never
 * carry a user id, a user-created server's name or id, or a raw URL.
 */
export interface Metrics {
  registry: Registry;
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  upstreamConnects: Counter<'server' | 'outcome'>;
}

/** Creates the registry and the metrics every part of the hub shares. */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'switchboard_' });
  const httpRequestDuration = new Histogram({
    name: 'switchboard_http_request_duration_seconds',
    help: 'HTTP request duration by route template',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const upstreamConnects = new Counter({
    name: 'switchboard_upstream_connects_total',
    help: `Upstream MCP connection attempts by outcome; users' servers count as ${USER_SERVERS_LABEL}`,
    labelNames: ['server', 'outcome'] as const,
    registers: [registry],
  });
  return { registry, httpRequestDuration, upstreamConnects };
}
