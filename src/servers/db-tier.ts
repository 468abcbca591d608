import type { CipherKeyring } from '../credentials/index.js';
import type { Logger } from '../observability/index.js';
import type { DbServerTier, RegisteredServer } from '../registry/index.js';
import { aclBits, type ServerRecord, type ServersRepository } from '../store/index.js';
import type { ServerAccess } from './access.js';
import { toRegisteredServer } from './stored-server.js';

/** Rows read per query when collecting every server a caller may use. */
const PAGE = 100;

/**
 * The registry's DB tier: user-created servers the caller may use, read and checked
 * on every call. A stored server that no longer validates, or whose secrets do not open, is left
 * out and logged, never connected.
 */
export function createDbServerTier(deps: {
  servers: Pick<ServersRepository, 'findByName' | 'list'>;
  access: ServerAccess;
  keyring: CipherKeyring;
  logger: Logger;
}): DbServerTier {
  const compose = (record: ServerRecord): RegisteredServer | null => {
    try {
      return toRegisteredServer(record, deps.keyring);
    } catch (err) {
      deps.logger.error({ err, server: record.name }, 'stored MCP server is unusable; skipping it');
      return null;
    }
  };

  return {
    async get(name, caller) {
      if (!caller.permissions.USE) return null;
      const record = await deps.servers.findByName(name);
      if (record === null) return null;
      const bits = await deps.access.bitsFor(record, caller);
      return (bits & aclBits.VIEW) === 0 ? null : compose(record);
    },

    async list(caller) {
      if (!caller.permissions.USE) return [];
      // The catalog shows what the caller was given (own, shared, group, public), admins included:
      // their bypass is for reaching any server by name, not for a catalog of every user's servers.
      const ids = await deps.access.visibleIds(caller);
      const found: RegisteredServer[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await deps.servers.list({ ids, limit: PAGE, after });
        for (const record of page.servers) {
          const server = compose(record);
          if (server) found.push(server);
        }
        if (page.nextCursor === null) return found;
        after = page.nextCursor;
      }
    },
  };
}
