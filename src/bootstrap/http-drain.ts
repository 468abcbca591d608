import type { FastifyInstance } from 'fastify';
import type { Logger } from '../observability/index.js';

/** How long requests in flight may run on after shutdown begins, by default. */
export const DEFAULT_DRAIN_MS = 5_000;
/** After the drain deadline, how long failed calls get to write their answers before sockets are cut. */
export const DEFAULT_ABORT_GRACE_MS = 3_000;
/** While draining, how often sockets left idle by a finished request are closed. */
const IDLE_SWEEP_MS = 100;

/** Options of {@link drainAndClose}. */
export interface DrainOptions {
  /** Requests in flight may finish within this time; default {@link DEFAULT_DRAIN_MS}. */
  drainMs?: number;
  /** Time between `abort` and cutting the remaining sockets; default {@link DEFAULT_ABORT_GRACE_MS}. */
  abortGraceMs?: number;
  /**
   * Called once at the drain deadline to make what still runs fail (the upstream pool closes, so
   * every pending tool call answers with an error and its stream ends).
   */
  abort: () => Promise<void>;
  logger: Logger;
}

/** True once `promise` settles within `ms`, false if the time ran out first. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closes the HTTP side of the hub in bounded time. The listener stops accepting, and a new
 * request on a socket already open gets 503 `HUB_ERR_SHUTTING_DOWN` (see `installClosingRefusal`);
 * the `preClose` hooks end the streams that never end by themselves (the `/mcp` GET streams).
 * Requests in flight get `drainMs` to finish; then `abort` fails what still runs, and after
 * `abortGraceMs` the sockets still open are destroyed, so a hung request can never hold shutdown
 * past its deadline.
 */
export async function drainAndClose(app: FastifyInstance, options: DrainOptions): Promise<void> {
  // A keep-alive socket whose last request ended during the drain would otherwise stay open
  // until its keep-alive timeout, holding the server open though nothing runs on it.
  const sweep = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_MS);
  try {
    await drain(app, app.close(), options);
  } finally {
    clearInterval(sweep);
  }
}

async function drain(app: FastifyInstance, closed: Promise<void>, options: DrainOptions): Promise<void> {
  if (await settlesWithin(closed, options.drainMs ?? DEFAULT_DRAIN_MS)) return;
  options.logger.warn('requests still in flight at the drain deadline: failing them');
  const aborted = options.abort().catch((err: unknown) => {
    options.logger.warn({ err }, 'failing requests in flight at shutdown failed');
  });
  if (!(await settlesWithin(closed, options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS))) {
    options.logger.warn('requests still open after the drain: closing their connections');
    app.server.closeAllConnections();
  }
  await Promise.all([closed, aborted]);
}
