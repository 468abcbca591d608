import { createHash } from 'node:crypto';

/** MCP tool names: at most 64 characters of letters, digits, `_`, `-`, `.` for the widest client support. */
const MAX_NAME = 64;
const SAFE = /[^A-Za-z0-9_.-]/g;
const HASH_LENGTH = 8;

/**
 * The name a downstream client sees for an upstream tool or prompt: `<server>__<name>`. A name that
 * is too long or has characters clients refuse is shortened or cleaned and given a hash suffix of
 * the full original, so it depends only on the server and tool names: it never changes when other
 * servers come and go, and two different originals never collide (IV-09, IV-10).
 */
export function exposedName(serverName: string, name: string): string {
  const full = `${serverName}__${name}`;
  const clean = full.replace(SAFE, '_');
  if (clean === full && full.length <= MAX_NAME) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, HASH_LENGTH);
  return `${clean.slice(0, MAX_NAME - HASH_LENGTH - 1)}_${hash}`;
}

/** Resource URIs are namespaced under a scheme of ours: `switchboard://<server>/<encoded original>`. */
export function exposedUri(serverName: string, uri: string): string {
  return `switchboard://${serverName}/${encodeURIComponent(uri)}`;
}

/** The server and original URI behind an exposed URI, or null when it is not one of ours. */
export function parseExposedUri(uri: string): { serverName: string; uri: string } | null {
  const match = /^switchboard:\/\/([A-Za-z0-9][A-Za-z0-9_-]{0,63})\/(.+)$/.exec(uri);
  if (!match) return null;
  try {
    return { serverName: match[1]!, uri: decodeURIComponent(match[2]!) };
  } catch {
    return null;
  }
}
