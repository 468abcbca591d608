import type { StoredTokens } from './token-store.js';

/**
 * `expires_at` from the AS's `expires_in`, on the hub's own clock (FT-12): a skewed AS clock can
 * never make the hub think a token lives longer than it was told. Null when the AS gave no lifetime.
 */
export function expiryFrom(expiresIn: number | undefined, now: number): number | null {
  return expiresIn !== undefined && Number.isFinite(expiresIn) && expiresIn > 0
    ? now + expiresIn * 1000
    : null;
}

/**
 * Usable without a refresh: more than the skew margin left (the margin refreshes early). For a token
 * whose whole lifetime is shorter than twice the margin, the margin is half its lifetime, so a fresh
 * short-lived token is not refreshed again on every use.
 */
export function isFresh(
  tokens: Pick<StoredTokens, 'expires_at' | 'obtained_at'>,
  now: number,
  skewMs: number,
): boolean {
  if (tokens.expires_at === null) return true;
  const lifetime = tokens.obtained_at === undefined ? Infinity : tokens.expires_at - tokens.obtained_at;
  return tokens.expires_at - Math.min(skewMs, lifetime / 2) > now;
}

/** Not yet past `expires_at` at all (still worth presenting when no refresh is possible). */
export function isUnexpired(tokens: Pick<StoredTokens, 'expires_at'>, now: number): boolean {
  return tokens.expires_at === null || tokens.expires_at > now;
}
