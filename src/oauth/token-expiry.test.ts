import { describe, expect, it } from 'vitest';
import { isFresh } from './token-expiry.js';

describe('isFresh', () => {
  const skew = 60_000;
  it('refreshes a long-lived token a skew margin before expiry', () => {
    const t = { expires_at: 1_000_000 + 3_600_000, obtained_at: 1_000_000 };
    expect(isFresh(t, t.expires_at - 61_000, skew)).toBe(true);
    expect(isFresh(t, t.expires_at - 59_000, skew)).toBe(false);
  });

  it('a short-lived token is fresh for half its lifetime, not stale from birth (no refresh on every use)', () => {
    const t = { expires_at: 1_000_000 + 10_000, obtained_at: 1_000_000 };
    expect(isFresh(t, 1_000_000 + 4_000, skew)).toBe(true);
    expect(isFresh(t, 1_000_000 + 6_000, skew)).toBe(false);
  });

  it('without obtained_at (older rows) the full margin applies; no expiry means always fresh', () => {
    expect(isFresh({ expires_at: 1_000_000 + 10_000 }, 1_000_000, skew)).toBe(false);
    expect(isFresh({ expires_at: null }, 5, skew)).toBe(true);
  });
});
