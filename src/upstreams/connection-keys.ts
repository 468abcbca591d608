/** Whether a server's connection is shared by everyone or held per user. */
export type ConnectionScope = 'app' | 'user';

/**
 * Which kind of downstream a connection serves. `rest`: the REST API, whose callers cannot answer
 * server→client requests, so the connection declares no client capabilities. `relay`: MCP
 * sessions (`/mcp`), whose connection declares sampling, elicitation and roots and relays those
 * requests to the downstream client of the call. Servers may offer different tools to the two
 * (e.g. server-everything's sampling tools), so each profile has its own key and tool list; an
 * app-level stdio server found to answer both alike is served by its relay key for both
 * (profile-sharing.ts).
 */
export type ConnectionProfile = 'rest' | 'relay';

/** The parts of a pool key. */
export interface ConnectionKeyParts {
  profile: ConnectionProfile;
  scope: ConnectionScope;
  /** The user of a `user` key; null for an app-level key. */
  userId: string | null;
  serverName: string;
  /** The downstream session a relay connection is bound to; null for a shared one. */
  sessionId: string | null;
  /**
   * The user whose session a bound connection serves, also for an app-level server (whose key
   * names no user otherwise): what the per-user cap counts. Null for a shared connection.
   */
  sessionOwner: string | null;
}

const RELAY_PREFIX = 'relay|';
const SESSION_PREFIX = 'session|';

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

/**
 * The key of a relay connection bound to one downstream session of `ownerId`
 * (`relay|session|<id>|<owner>|<base>`): it belongs to that server and user like the shared one, so
 * closing theirs closes it too. Session ids are UUIDs, without `|`; the owner is percent-encoded,
 * so it has none either.
 */
export function sessionConnectionKey(relayKey: string, sessionId: string, ownerId: string): string {
  const owner = encodeURIComponent(ownerId);
  return `${RELAY_PREFIX}${SESSION_PREFIX}${sessionId}|${owner}|${relayKey.slice(RELAY_PREFIX.length)}`;
}

/** `<id>|<owner>|<base>` of a session key, split; null when malformed. */
function splitSession(rest: string): { sessionId: string; owner: string; base: string } | null {
  const idEnd = rest.indexOf('|');
  const ownerEnd = rest.indexOf('|', idEnd + 1);
  if (idEnd <= 0 || ownerEnd < 0) return null;
  try {
    const owner = decodeURIComponent(rest.slice(idEnd + 1, ownerEnd));
    return { sessionId: rest.slice(0, idEnd), owner, base: rest.slice(ownerEnd + 1) };
  } catch {
    return null; // not percent-encoded by sessionConnectionKey
  }
}

/** The parts of a key made by {@link connectionKeyFor} or {@link sessionConnectionKey}; null for anything else. */
export function parseConnectionKey(key: string): ConnectionKeyParts | null {
  const profile: ConnectionProfile = key.startsWith(RELAY_PREFIX) ? 'relay' : 'rest';
  let base = profile === 'relay' ? key.slice(RELAY_PREFIX.length) : key;
  let sessionId: string | null = null;
  let sessionOwner: string | null = null;
  if (profile === 'relay' && base.startsWith(SESSION_PREFIX)) {
    const split = splitSession(base.slice(SESSION_PREFIX.length));
    if (split === null) return null;
    ({ sessionId, owner: sessionOwner, base } = split);
  }
  const last = base.lastIndexOf('|');
  if (last < 0) return null;
  const serverName = base.slice(last + 1);
  if (base.startsWith('app|') && last === 3)
    return { profile, scope: 'app', userId: null, serverName, sessionId, sessionOwner };
  if (base.startsWith('user|') && last > 4) {
    return { profile, scope: 'user', userId: base.slice(5, last), serverName, sessionId, sessionOwner };
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
