import { type Result, fail, ok } from '../errors/index.js';

/**
 * A server name is 1–64 characters of letters, digits, `_` and `-`, starting with a letter or
 * digit, so it is safe in URL paths, tool names (`<server>__<tool>`) and flow ids (`user:server`).
 */
export const SERVER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Path words under `/api/mcp/` that a server name would shadow (`/api/mcp/servers`, `/api/mcp/tools`,
 * `/api/mcp/oauth/…`, `/api/mcp/connection/…`); compared without regard to case.
 */
export const RESERVED_SERVER_NAMES: readonly string[] = ['servers', 'tools', 'oauth', 'connection'];

/** Checks a server name against the naming rule and the reserved words; the value is the name unchanged. */
export function checkServerName(name: string): Result<string> {
  if (!SERVER_NAME_PATTERN.test(name)) {
    return fail(
      'HUB_ERR_INVALID_SERVER_NAME',
      // JSON quoting: a refused name may hold anything, line breaks included.
      `server name ${JSON.stringify(name)} must be 1-64 letters, digits, '_' or '-', starting with a letter or digit`,
    );
  }
  if (RESERVED_SERVER_NAMES.includes(name.toLowerCase())) {
    return fail(
      'HUB_ERR_INVALID_SERVER_NAME',
      `server name '${name}' is reserved (${RESERVED_SERVER_NAMES.join(', ')} are route words)`,
    );
  }
  return ok(name);
}
