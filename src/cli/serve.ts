import { createHub } from '../bootstrap/index.js';
import type { HubConfig } from '../config/index.js';
import { killChildGroups } from '../connections/index.js';

/**
 * How long shutdown may take before the process exits anyway. The hub's own close fits well
 * inside it: requests drain for 5 s, what still runs is failed and gets 3 s to answer, and a
 * stdio child that ignores stdin EOF and SIGTERM is killed 2.3 s after its close began.
 */
const SHUTDOWN_DEADLINE_MS = 15_000;

/** Runs the hub until SIGTERM or SIGINT, then closes connections and stores gracefully. */
export async function serve(config: HubConfig): Promise<void> {
  // Whatever way the process leaves (deadline, crash, a second signal), no stdio child outlives it.
  process.on('exit', () => killChildGroups());
  const hub = await createHub(config);
  await hub.app.listen({ port: config.env.port, host: config.env.host });
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second signal (Ctrl-C twice): leave now; the exit handler still kills the children.
      hub.logger.warn({ signal }, 'second signal during shutdown; exiting at once');
      process.exit(1);
    }
    stopping = true;
    hub.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      hub.logger.error(
        { children: killChildGroups() },
        'shutdown took too long; killed stdio children, exiting',
      );
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    force.unref();
    hub
      .close()
      .then(() => {
        hub.logger.info('shut down');
        process.exit(0);
      })
      .catch((err: unknown) => {
        hub.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
