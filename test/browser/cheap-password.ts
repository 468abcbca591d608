import { randomBytes, scryptSync } from 'node:crypto';

/** Low scrypt cost: enough to run the hub's real check, cheap enough for a dozen sign-ins on 2 cores. */
const CHEAP = { N: 2 ** 10, r: 8, p: 1 } as const;

/**
 * A password hash in the hub's stored format (`scrypt$N$r$p$salt$hash`, base64url parts) at a low
 * cost. The hub verifies with the parameters a hash names, so signing in with it runs the real
 * check in milliseconds instead of the production cost's half second per attempt. Should the
 * format change, the sign-ins of these suites are refused and they fail loudly.
 */
export function cheapPasswordHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32, CHEAP);
  return ['scrypt', CHEAP.N, CHEAP.r, CHEAP.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}
