/** Whether a server's connection is shared by everyone or held per user. */
export type ConnectionScope = 'app' | 'user';

/**
 * Which kind of downstream a connection serves. `rest`: the REST API, whose callers cannot answer
 * server→client requests, so the connection declares no client capabilities. `relay`: MCP
 * sessions (`/mcp`), whose connection declares sampling, elicitation and roots and relays those
 * requests to the downstream client of the call. Servers offer different tools to the two (e.g.
 * server-everything's sampling tools), so they never share a connection or a tool list.
 */
export type ConnectionProfile = 'rest' | 'relay';

/** The parts of a pool key. */
export interface ConnectionKeyParts {
  profile: ConnectionProfile;
  scope: ConnectionScope;
  /** The user of a `user` key; null for an app-level key. */
  userId: string | null;
  serverName: string;
}

const RELAY_PREFIX = 'relay|';

/**
 * The pool key of a caller's connection to a server: `app|<server>` for app-level servers,
 * `user|<userId>|<server>` otherwise, each prefixed with `relay|` for the relay profile. Tool
 * caches use the same key. Server names never contain `|`; user ids may.
 */
export function connectionKeyFor(
  scope: ConnectionScope,
  serverName: string,
  userId: string,
  profile: ConnectionProfile = 'rest',
): string {
  const base = scope === 'app' ? `app|${serverName}` : `user|${userId}|${serverName}`;
  return profile === 'relay' ? `${RELAY_PREFIX}${base}` : base;
}

/** The parts of a key made by {@link connectionKeyFor}; null for anything else. */
export function parseConnectionKey(key: string): ConnectionKeyParts | null {
  const profile: ConnectionProfile = key.startsWith(RELAY_PREFIX) ? 'relay' : 'rest';
  const base = profile === 'relay' ? key.slice(RELAY_PREFIX.length) : key;
  const last = base.lastIndexOf('|');
  if (last < 0) return null;
  const serverName = base.slice(last + 1);
  if (base.startsWith('app|') && last === 3) return { profile, scope: 'app', userId: null, serverName };
  if (base.startsWith('user|') && last > 4) {
    return { profile, scope: 'user', userId: base.slice(5, last), serverName };
  }
  return null;
}

/** The keys of every profile for one scope, server and user (what a disconnect must cover). */
export function allProfileKeys(scope: ConnectionScope, serverName: string, userId: string): string[] {
  return [connectionKeyFor(scope, serverName, userId), connectionKeyFor(scope, serverName, userId, 'relay')];
}

/** True when the pool key belongs to the named server (any user, any profile). */
export function isKeyOfServer(key: string, serverName: string): boolean {
  return parseConnectionKey(key)?.serverName === serverName;
}
