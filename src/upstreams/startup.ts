import { isHubError } from '../errors/index.js';
import type { Logger } from '../observability/index.js';
import { connectionScope, type RegisteredServer } from '../registry/index.js';
import type { UpstreamService } from './upstream-service.js';

/** Handle on the start-up connector; `stop()` cancels pending retries. */
export interface StartupConnector {
  /** Resolves when every first attempt has ended (success or failure), never rejects. */
  readonly firstPass: Promise<void>;
  stop(): void;
}

const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 5 * 60_000;

/**
 * Connects and inspects the app-level servers with `startup` not false, a few at a time. A failing
 * server is logged and retried in the background with capped exponential backoff and jitter; it never
 * stops the hub from starting, and the first pass is bounded by each server's own init timeout.
 */
export function connectAtStartup(deps: {
  servers: readonly RegisteredServer[];
  upstreams: UpstreamService;
  concurrency: number;
  logger: Logger;
  random?: () => number;
}): StartupConnector {
  const random = deps.random ?? Math.random;
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const eligible = deps.servers.filter(
    (s) => s.config.startup !== false && connectionScope(s.config) === 'app',
  );

  async function attempt(server: RegisteredServer, failures: number): Promise<void> {
    if (stopped) return;
    try {
      const { connection } = await deps.upstreams.connectApp(server);
      const tools = await connection.listTools();
      deps.logger.info({ server: server.name, tools: tools.length }, 'MCP server connected at start-up');
    } catch (err) {
      if (stopped) return;
      // A server that turned out to need OAuth is connected per user from now on: nothing to retry.
      if (isHubError(err, 'HUB_ERR_OAUTH_REQUIRED')) {
        deps.logger.info(
          { server: server.name },
          'MCP server requires OAuth: it is connected per user on first use',
        );
        return;
      }
      const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** failures) * (0.5 + random());
      deps.logger.warn(
        { err, server: server.name, retryInMs: Math.round(delay) },
        'MCP server failed to connect at start-up',
      );
      const timer = setTimeout(() => {
        timers.delete(timer);
        void attempt(server, failures + 1);
      }, delay);
      timer.unref();
      timers.add(timer);
    }
  }

  async function firstPass(): Promise<void> {
    const queue = [...eligible];
    const workers = Array.from({ length: Math.min(deps.concurrency, queue.length) }, async () => {
      for (let server = queue.shift(); server; server = queue.shift()) await attempt(server, 0);
    });
    await Promise.all(workers);
  }

  return {
    firstPass: firstPass(),
    stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
