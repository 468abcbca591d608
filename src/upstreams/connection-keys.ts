import type { Identity } from '../auth/index.js';
import { connectionScope, type RegisteredServer } from '../registry/index.js';

/**
 * The pool key of a caller's connection to a server: one shared `app|<server>` for app-level
 * servers, `user|<userId>|<server>` otherwise. Tool caches use the same key.
 */
export function connectionKey(server: RegisteredServer, caller: Pick<Identity, 'userId'>): string {
  return connectionScope(server.config) === 'app'
    ? `app|${server.name}`
    : `user|${caller.userId}|${server.name}`;
}

/** True when the pool key belongs to the named server (any user). */
export function isKeyOfServer(key: string, serverName: string): boolean {
  return key === `app|${serverName}` || (key.startsWith('user|') && key.endsWith(`|${serverName}`));
}
