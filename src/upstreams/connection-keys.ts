/** Whether a server's connection is shared by everyone or held per user (DESIGN.md §4). */
export type ConnectionScope = 'app' | 'user';

/**
 * The pool key of a caller's connection to a server: one shared `app|<server>` for app-level
 * servers, `user|<userId>|<server>` otherwise. Tool caches use the same key.
 */
export function connectionKeyFor(scope: ConnectionScope, serverName: string, userId: string): string {
  return scope === 'app' ? `app|${serverName}` : `user|${userId}|${serverName}`;
}

/** True when the pool key belongs to the named server (any user). */
export function isKeyOfServer(key: string, serverName: string): boolean {
  return key === `app|${serverName}` || (key.startsWith('user|') && key.endsWith(`|${serverName}`));
}
