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

/** Usable without a refresh: more than `skewMs` left (the skew margin refreshes early). */
export function isFresh(tokens: Pick<StoredTokens, 'expires_at'>, now: number, skewMs: number): boolean {
  return tokens.expires_at === null || tokens.expires_at - skewMs > now;
}

/** Not yet past `expires_at` at all (still worth presenting when no refresh is possible). */
export function isUnexpired(tokens: Pick<StoredTokens, 'expires_at'>, now: number): boolean {
  return tokens.expires_at === null || tokens.expires_at > now;
}
