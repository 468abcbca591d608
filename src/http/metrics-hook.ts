import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../observability/index.js';

/** Records one histogram sample per response, labelled by route template (never the raw URL). */
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
    done();
  });
}
