import type { Identity } from '../auth/index.js';
import { checkServerName, type HubConfig, type ServerConfig } from '../config/index.js';
import { HubError } from '../errors/index.js';

/** A server as the rest of the hub sees it: its name, where it came from, and its config. */
export interface RegisteredServer {
  name: string;
  /** `yaml`: the admin's file (wins on a name clash); `db`: user-created. */
  source: 'yaml' | 'db';
  /**
   * The config to connect with. For a `db` server it is composed by its tier: secrets decrypted,
   * `startup: false` (so every caller of `connectionScope` sees a user-level server)
   * and `requiresOAuth` as found by inspection.
   */
  config: ServerConfig;
  /**
   * The user who created a `db` server; absent for `yaml`. Lets the MCP endpoint tell the caller's own
   * servers from those shared with them, and a server from a later one that took the same name.
   */
  ownerId?: string;
}

/**
 * The user-created servers a caller may use; implemented by the servers feature, which owns their
 * storage, ACLs and secrets. Both functions re-check access on every call, so a revoked share takes
 * effect on the caller's next request (AZ-11).
 */
export interface DbServerTier {
  /** Every user-created server the caller may use, in any order. */
  list(caller: Identity): Promise<RegisteredServer[]>;
  /** The named server (any case) when it exists and the caller may use it; null otherwise. */
  get(name: string, caller: Identity): Promise<RegisteredServer | null>;
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

/** Options of {@link createServerRegistry}. */
export interface ServerRegistryOptions {
  /** The user-created servers; without it the registry holds the YAML tier only. */
  db?: DbServerTier;
}

/** True when an admin server's `access` block lets the caller see it; admins see everything. */
export function mayAccessYaml(server: ServerConfig, caller: Identity): boolean {
  if (caller.role === 'ADMIN' || !server.access) return true;
  const { roles, users } = server.access;
  if (roles?.includes(caller.role)) return true;
  const email = caller.email.toLowerCase();
  return (
    users?.some((u) => u === caller.userId || u === caller.appUserId || u.toLowerCase() === email) ?? false
  );
}

/** Throws `HUB_ERR_INVALID_SERVER_NAME` (400) unless the name follows the server-name rule. */
export function assertServerName(name: string): void {
  const checked = checkServerName(name);
  if (!checked.ok) throw new HubError('HUB_ERR_INVALID_SERVER_NAME', { message: checked.message });
}

/** The one 404 for "does not exist" and "hidden from you", so existence never leaks. */
function notFound(name: string): HubError {
  return new HubError('HUB_ERR_SERVER_NOT_FOUND', {
    message: `MCP server '${name}' not found in configuration`,
  });
}

/**
 * Creates the registry over the admin's YAML servers and, when given, the user-created ones. A YAML
 * name wins over a user-created server of the same name (any case): that server is hidden.
 */
export function createServerRegistry(
  config: Pick<HubConfig, 'mcpServers'>,
  options: ServerRegistryOptions = {},
): ServerRegistry {
  const yaml: RegisteredServer[] = Object.entries(config.mcpServers)
    .map(([name, serverConfig]) => ({ name, source: 'yaml' as const, config: serverConfig }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const byKey = new Map(yaml.map((s) => [s.name.toLowerCase(), s]));
  const db = options.db;

  return {
    async list(caller) {
      if (!caller.permissions.USE) return [];
      const visible = yaml.filter((s) => mayAccessYaml(s.config, caller));
      if (!db) return visible;
      const mine = (await db.list(caller)).filter((s) => !byKey.has(s.name.toLowerCase()));
      return [...visible, ...mine].sort((a, b) => a.name.localeCompare(b.name));
    },
    async get(name, caller) {
      const server = byKey.get(name.toLowerCase());
      // A name of the admin's file (any case) passed the name rule when the file was loaded.
      if (!server) assertServerName(name);
      if (!caller.permissions.USE) throw notFound(name);
      if (server) {
        if (!mayAccessYaml(server.config, caller)) throw notFound(name);
        return server;
      }
      const found = db ? await db.get(name, caller) : null;
      if (!found) throw notFound(name);
      return found;
    },
    yamlServers: () => yaml,
  };
}
