import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../observability/index.js';

/**
 * One histogram sample per response, labelled by route template (never the raw URL), and one access
 * log line (at the route's log level), in place of Fastify's two lines per request: logging is a
 * visible share of the hub's own cost per tool call.
 */
export function installRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    const elapsedMs = reply.elapsedTime;
    metrics.httpRequestDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      elapsedMs / 1000,
    );
    request.log.info(
      { req: request, res: { statusCode: reply.statusCode }, responseTime: elapsedMs },
      'request completed',
    );
    done();
  });
}
