import type { ConnectionPool } from '../connections/index.js';
import type { Logger } from '../observability/index.js';
import type { ToolCache } from '../tools/index.js';

/**
 * Keeps the tool cache true to the upstreams between connects: on `notifications/tools/list_changed`
 * the key's tools are read again from the live connection. (Each new connection lists its own tools
 * once, in the upstream service; a key that disconnects keeps its last list until the next connect.)
 */
export function watchToolChanges(deps: {
  pool: ConnectionPool;
  tools: ToolCache;
  logger: Logger;
}): () => void {
  const refresh = (key: string): void => {
    const connection = deps.pool.peek(key);
    if (!connection) return;
    void deps.tools.refresh(key, connection).catch(async (err: unknown) => {
      deps.logger.warn({ err, key }, 'could not refresh the tool list; dropping the cached one');
      await deps.tools.invalidate(key).catch(() => undefined);
    });
  };
  return deps.pool.onToolsChanged(refresh);
}
