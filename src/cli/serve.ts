import { createHub } from '../bootstrap/index.js';
import type { HubConfig } from '../config/index.js';

/** How long shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Runs the hub until SIGTERM or SIGINT, then closes connections and stores gracefully. */
export async function serve(config: HubConfig): Promise<void> {
  const hub = await createHub(config);
  await hub.app.listen({ port: config.env.port, host: config.env.host });
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    hub.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      hub.logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    hub
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        hub.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
