import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Metrics } from '../../observability/index.js';

/** A named dependency check for readiness. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/** Options for {@link healthRoutes}. */
export interface HealthRouteOptions {
  metrics: Metrics;
  checks: ReadinessCheck[];
  /** Longest a readiness check may take before it counts as down. */
  checkTimeoutMs?: number;
}

const readySchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.record(z.string(), z.enum(['ok', 'down'])),
});

/** `GET /healthz` (the process answers), `GET /readyz` (DB and KV reachable), `GET /metrics`. */
export const healthRoutes: FastifyPluginAsyncZod<HealthRouteOptions> = async (app, options) => {
  const timeoutMs = options.checkTimeoutMs ?? 2000;

  app.get(
    '/healthz',
    {
      schema: { tags: ['health'], response: { 200: z.object({ status: z.literal('ok') }) } },
      logLevel: 'warn',
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    { schema: { tags: ['health'], response: { 200: readySchema, 503: readySchema } }, logLevel: 'warn' },
    async (_request, reply) => {
      const results = await Promise.all(
        options.checks.map(
          async (c) => [c.name, (await passes(() => c.check(), timeoutMs)) ? 'ok' : 'down'] as const,
        ),
      );
      const checks = Object.fromEntries(results);
      const ready = results.every(([, state]) => state === 'ok');
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks });
    },
  );

  app.get('/metrics', { schema: { hide: true }, logLevel: 'warn' }, async (_request, reply) => {
    const body = await options.metrics.registry.metrics();
    return reply.type(options.metrics.registry.contentType).send(body);
  });
};

async function passes(check: () => Promise<void>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([check().then(() => true as const), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
