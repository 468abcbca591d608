import type { FastifyRequest } from 'fastify';

/** A return path longer than this is no link of the hub's. */
const MAX_RETURN_TO = 2048;
/** True when `value` holds a C0 control or DEL: browsers strip or reinterpret those inside URLs. */
function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * A same-site path to return to after sign-in: `value` when it is a path of this hub (starts with
 * one `/`, no `//`, no `\`, no scheme, no control characters, at most 2 KiB), else `fallback`.
 * Browsers read `//host` and `/\host` as another host, and drop tabs and newlines before parsing,
 * so each of those would make the redirect after sign-in an open redirect.
 */
export function safeReturnTo(value: unknown, fallback: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RETURN_TO) return fallback;
  if (!value.startsWith('/') || value.includes('//') || value.includes('\\')) return fallback;
  if (hasControlCharacter(value)) return fallback;
  // The first path segment must not read as a scheme either (`/javascript:` is a path, but a
  // careless consumer that strips the slash would not think so).
  if (/^\/[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return fallback;
  return value;
}

/** `<prefix>/auth/signin?returnTo=<encoded>`: where a page sends a browser that must sign in first. */
export function signInPath(pathPrefix: string, returnTo: string): string {
  return `${pathPrefix}/auth/signin?returnTo=${encodeURIComponent(returnTo)}`;
}

/**
 * Login CSRF defence for forms posted before any session exists: another site could post the
 * attacker's own credentials so that the victim's browser works as the attacker (and, say, grants
 * the attacker's flow their consent). Browsers say where a request came from in Fetch Metadata
 * (`Sec-Fetch-Site`); `Origin` is the fallback for those that do not. The hub's pages send no
 * referrer, so their own posts may carry `Origin: null`: only `Sec-Fetch-Site` can vouch for them.
 */
export function isCrossSite(request: FastifyRequest, publicOrigin: string): boolean {
  const site = request.headers['sec-fetch-site'];
  // `none`: the user's own action (a bookmark, a reload), never another site's.
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.origin;
  return origin !== undefined && origin !== publicOrigin;
}
