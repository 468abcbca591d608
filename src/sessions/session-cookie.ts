import { createHash } from 'node:crypto';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import type { Random } from '../core/index.js';

/** 256 bits: a session token can be neither guessed nor enumerated. */
const TOKEN_BYTES = 32;
/** A token as minted: 32 bytes in base64url, nothing else. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** More copies of the cookie than this in one header is no browser of ours; the rest are ignored. */
const MAX_CANDIDATES = 4;

/** Where and how the session cookie is set, worked out once from PUBLIC_URL. */
export interface SessionCookieSettings {
  /** `__Host-sb_session` on an https origin at the root, else `sb_session`. */
  name: string;
  /** The attributes every set and clear uses (they must match for a clear to take). */
  attributes: CookieSerializeOptions & { path: string };
}

/**
 * The session cookie for a hub at `publicUrl`. The `__Host-` prefix (RFC 6265bis §4.1.3.2) makes the
 * browser refuse the cookie unless it is Secure, has no Domain and has Path `/`: no sibling host
 * and no http page can plant or shadow it. It needs https and the root path, so a hub behind a
 * path prefix or on plain http uses the bare name, with Path set to its prefix.
 */
export function sessionCookieSettings(publicUrl: string): SessionCookieSettings {
  const url = new URL(publicUrl);
  const prefix = url.pathname.replace(/\/+$/, '');
  const secure = url.protocol === 'https:';
  return {
    name: secure && prefix === '' ? '__Host-sb_session' : 'sb_session',
    attributes: {
      httpOnly: true,
      // Lax, not Strict: the returns from an identity provider and from the hub's own authorize
      // page are top-level navigations from another site, and must arrive signed in.
      sameSite: 'lax',
      secure,
      path: `${prefix}/`,
    },
  };
}

/** A fresh random token, base64url (for the cookie and for the CSRF token alike). */
export function mintToken(random: Random): string {
  return random.bytes(TOKEN_BYTES).toString('base64url');
}

/** What the table stores for a cookie token: a copy of the table signs nobody in. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/**
 * Every well-formed value of the cookie `name` the request carries, in header order. Read from the
 * raw header, not the parsed map (which keeps one value per name): a browser may hold two cookies
 * of one name at different paths, such as the signed cookie earlier versions set at `/api`, and the
 * one sent first must not hide the live session.
 */
export function cookieTokens(request: FastifyRequest, name: string): string[] {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return [];
  const tokens: string[] = [];
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals === -1 || pair.slice(0, equals).trim() !== name) continue;
    const value = pair.slice(equals + 1).trim();
    if (TOKEN_SHAPE.test(value) && !tokens.includes(value)) tokens.push(value);
    if (tokens.length === MAX_CANDIDATES) break;
  }
  return tokens;
}
