import { SignJWT, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { createSecretKey } from 'node:crypto';
import type { Clock } from '../core/index.js';
import { HubError } from '../errors/index.js';

/** The claims the hub reads from a bearer token. */
export interface TokenClaims {
  /** The user id: LibreChat's `id` claim, else `sub`. */
  userId: string;
  email: string | undefined;
}

/** Settings for an external issuer whose tokens are checked against its JWKS. */
export interface ExternalIssuer {
  jwksUrl: string;
  issuer: string | undefined;
  audience: string | undefined;
}

/** Signs and verifies the hub's bearer tokens. */
export interface TokenService {
  /** Verifies a bearer token; throws `HUB_ERR_INVALID_TOKEN` on any failure. */
  verify(token: string): Promise<TokenClaims>;
  /** Issues an HS256 token for a local user. */
  sign(claims: { userId: string; email: string }, ttlSeconds: number): Promise<string>;
}

/**
 * A verified token is remembered until it expires, at most this long: verifying costs more than
 * anything else on the hub's side of a tool call (jose's WebCrypto path), and every request of a
 * session carries the same token. The bound also caps how long a key the issuer withdrew from its
 * JWKS keeps working.
 */
const VERIFIED_TTL_MS = 5 * 60_000;
const VERIFIED_MAX = 10_000;

/** Asymmetric algorithms accepted from an external issuer; HS* never goes to the JWKS path (key confusion). */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

/**
 * Creates the token service. HS256 tokens are verified with `JWT_SECRET` only; asymmetric tokens
 * only with the external issuer's JWKS, so neither key can be confused for the other.
 */
export function createTokenService(options: {
  jwtSecret: string;
  external?: ExternalIssuer | undefined;
  clock: Clock;
}): TokenService {
  // A KeyObject made once: jose would otherwise import the raw secret again on every verify.
  const secret = createSecretKey(Buffer.from(options.jwtSecret, 'utf8'));
  const jwks = options.external ? createRemoteJWKSet(new URL(options.external.jwksUrl)) : undefined;
  const currentDate = (): Date => new Date(options.clock.now());

  async function verifyPayload(token: string): Promise<JWTPayload> {
    const alg = peekAlgorithm(token);
    if (alg === 'HS256') {
      const { payload } = await jwtVerify(token, secret, {
        algorithms: ['HS256'],
        currentDate: currentDate(),
      });
      return payload;
    }
    if (jwks && options.external) {
      const { payload } = await jwtVerify(token, jwks, {
        algorithms: JWKS_ALGORITHMS,
        currentDate: currentDate(),
        ...(options.external.issuer ? { issuer: options.external.issuer } : {}),
        ...(options.external.audience ? { audience: options.external.audience } : {}),
      });
      return payload;
    }
    throw new HubError('HUB_ERR_INVALID_TOKEN');
  }

  const verified = new Map<string, { claims: TokenClaims; until: number }>();

  return {
    async verify(token) {
      const now = options.clock.now();
      const hit = verified.get(token);
      if (hit && hit.until > now) return hit.claims;
      let payload: JWTPayload;
      try {
        payload = await verifyPayload(token);
      } catch (err) {
        if (err instanceof HubError) throw err;
        if (err instanceof joseErrors.JOSEError || err instanceof TypeError || err instanceof SyntaxError) {
          throw new HubError('HUB_ERR_INVALID_TOKEN', { cause: err });
        }
        throw err;
      }
      // jose accepts a token without `exp`; a session token without one would never die.
      if (typeof payload.exp !== 'number') throw new HubError('HUB_ERR_INVALID_TOKEN');
      const id = typeof payload.id === 'string' && payload.id ? payload.id : payload.sub;
      if (typeof id !== 'string' || id.length === 0 || id.length > 128)
        throw new HubError('HUB_ERR_INVALID_TOKEN');
      const email = typeof payload.email === 'string' ? payload.email : undefined;
      const claims = { userId: id, email };
      if (verified.size >= VERIFIED_MAX) verified.clear();
      verified.set(token, { claims, until: Math.min(payload.exp * 1000, now + VERIFIED_TTL_MS) });
      return claims;
    },
    async sign(claims, ttlSeconds) {
      const now = Math.floor(options.clock.now() / 1000);
      return new SignJWT({ id: claims.userId, email: claims.email })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(claims.userId)
        .setIssuedAt(now)
        .setExpirationTime(now + ttlSeconds)
        .sign(secret);
    },
  };
}

/** Reads the `alg` of a compact JWS header without trusting it for anything but routing. */
function peekAlgorithm(token: string): string {
  const header = token.split('.')[0];
  if (!header) throw new HubError('HUB_ERR_INVALID_TOKEN');
  try {
    const parsed: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && 'alg' in parsed && typeof parsed.alg === 'string')
      return parsed.alg;
  } catch {
    // fall through: a header that is not JSON is an invalid token
  }
  throw new HubError('HUB_ERR_INVALID_TOKEN');
}
