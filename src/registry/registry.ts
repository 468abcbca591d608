import type { Identity } from '../auth/index.js';
import { checkServerName, type HubConfig, type ServerConfig } from '../config/index.js';
import { HubError } from '../errors/index.js';

/** A server as the rest of the hub sees it: its name, where it came from, and its config. */
export interface RegisteredServer {
  name: string;
  /** `yaml`: the admin's file (wins on a name clash); `db`: user-created (a later tier). */
  source: 'yaml' | 'db';
  config: ServerConfig;
}

/** Finds the servers a caller may use. */
export interface ServerRegistry {
  /** Every server the caller may see, in name order. */
  list(caller: Identity): Promise<RegisteredServer[]>;
  /**
   * The named server, if the caller may see it. The name is validated first; an invalid name is a
   * 400, and a server that does not exist or is hidden from the caller is the same 404.
   */
  get(name: string, caller: Identity): Promise<RegisteredServer>;
  /** Every admin-defined server, regardless of caller (start-up inspection). */
  yamlServers(): RegisteredServer[];
}

/** True when an admin server's `access` block lets the caller see it; admins see everything. */
function mayAccess(server: ServerConfig, caller: Identity): boolean {
  if (caller.role === 'ADMIN' || !server.access) return true;
  const { roles, users } = server.access;
  if (roles?.includes(caller.role)) return true;
  const email = caller.email.toLowerCase();
  return users?.some((u) => u === caller.userId || u.toLowerCase() === email) ?? false;
}

/** Throws `HUB_ERR_INVALID_SERVER_NAME` (400) unless the name follows API.md's rule. */
export function assertServerName(name: string): void {
  const checked = checkServerName(name);
  if (!checked.ok) throw new HubError('HUB_ERR_INVALID_SERVER_NAME', { message: checked.message });
}

/** Creates the registry over the admin's YAML servers (the DB tier plugs in with user-created servers). */
export function createServerRegistry(config: Pick<HubConfig, 'mcpServers'>): ServerRegistry {
  const yaml: RegisteredServer[] = Object.entries(config.mcpServers)
    .map(([name, serverConfig]) => ({ name, source: 'yaml' as const, config: serverConfig }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const byKey = new Map(yaml.map((s) => [s.name.toLowerCase(), s]));

  return {
    list(caller) {
      if (!caller.permissions.USE) return Promise.resolve([]);
      return Promise.resolve(yaml.filter((s) => mayAccess(s.config, caller)));
    },
    get(name, caller) {
      assertServerName(name);
      const server = byKey.get(name.toLowerCase());
      if (!server || !caller.permissions.USE || !mayAccess(server.config, caller)) {
        return Promise.reject(
          new HubError('HUB_ERR_SERVER_NOT_FOUND', {
            message: `MCP server '${name}' not found in configuration`,
          }),
        );
      }
      return Promise.resolve(server);
    },
    yamlServers: () => yaml,
  };
}
