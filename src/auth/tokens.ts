import { SignJWT, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { createSecretKey, randomUUID } from 'node:crypto';
import type { Clock } from '../core/index.js';
import { HubError } from '../errors/index.js';

/**
 * The `iss` of the hub's own tokens. HS256 tokens without it come from the application that shares
 * `JWT_SECRET` (LibreChat) and name that application's users, not the hub's.
 */
export const HUB_TOKEN_ISSUER = 'urn:switchboard:hub';

/** The issuer namespace of HS256 tokens that are not the hub's own: the application sharing `JWT_SECRET`. */
export const SHARED_SECRET_ISSUER = 'jwt-secret';

/** A token the hub issued to one of its users. */
export interface HubTokenClaims {
  kind: 'hub';
  /** The hub user id (`sub`). */
  userId: string;
  /** The user's token epoch when the token was issued; a token from an earlier epoch is dead. */
  epoch: number;
}

/** A token from an external issuer, naming one of that issuer's subjects. */
export interface ExternalTokenClaims {
  kind: 'external';
  /** {@link SHARED_SECRET_ISSUER} for HS256 tokens, else the verified `iss`. */
  issuer: string;
  /** LibreChat's `id` claim, else `sub`, for HS256 tokens; `sub` for the external issuer's. */
  subject: string;
  email: string | undefined;
  /** True only when the token says `email_verified: true` (OpenID Connect Core §5.1). */
  emailVerified: boolean;
}

/** The claims the hub reads from a verified bearer token. */
export type TokenClaims = HubTokenClaims | ExternalTokenClaims;

/** Settings for an external issuer whose tokens are checked against its JWKS. */
export interface ExternalIssuer {
  jwksUrl: string;
  issuer: string | undefined;
  audience: string | undefined;
}

/** Signs and verifies bearer tokens. */
export interface TokenService {
  /** Verifies a bearer token; throws `HUB_ERR_INVALID_TOKEN` on any failure. */
  verify(token: string): Promise<TokenClaims>;
  /** Issues an HS256 hub token for a local user at their current token epoch. */
  sign(claims: { userId: string; epoch: number }, ttlSeconds: number): Promise<string>;
}

/** Longest subject accepted (OpenID Connect Core §2: `sub` is at most 255 ASCII characters). */
const MAX_SUBJECT_LENGTH = 255;
/** Longest email accepted (RFC 5321 §4.5.3.1 limits a path to 256 octets). */
const MAX_EMAIL_LENGTH = 320;

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

  async function verifyPayload(token: string): Promise<{ payload: JWTPayload; symmetric: boolean }> {
    const alg = peekAlgorithm(token);
    if (alg === 'HS256') {
      const { payload } = await jwtVerify(token, secret, {
        algorithms: ['HS256'],
        currentDate: currentDate(),
      });
      return { payload, symmetric: true };
    }
    if (jwks && options.external) {
      const { payload } = await jwtVerify(token, jwks, {
        algorithms: JWKS_ALGORITHMS,
        currentDate: currentDate(),
        ...(options.external.issuer ? { issuer: options.external.issuer } : {}),
        ...(options.external.audience ? { audience: options.external.audience } : {}),
      });
      return { payload, symmetric: false };
    }
    throw new HubError('HUB_ERR_INVALID_TOKEN');
  }

  const verified = new Map<string, { claims: TokenClaims; until: number }>();

  return {
    async verify(token) {
      const now = options.clock.now();
      const hit = verified.get(token);
      if (hit && hit.until > now) return hit.claims;
      let verifiedPayload: { payload: JWTPayload; symmetric: boolean };
      try {
        verifiedPayload = await verifyPayload(token);
      } catch (err) {
        if (err instanceof HubError) throw err;
        if (err instanceof joseErrors.JOSEError || err instanceof TypeError || err instanceof SyntaxError) {
          throw new HubError('HUB_ERR_INVALID_TOKEN', { cause: err });
        }
        throw err;
      }
      const { payload, symmetric } = verifiedPayload;
      // jose accepts a token without `exp`; a session token without one would never die.
      if (typeof payload.exp !== 'number') throw new HubError('HUB_ERR_INVALID_TOKEN');
      const claims = symmetric
        ? symmetricClaims(payload)
        : externalClaims(payload, payload.iss ?? '', payload.sub);
      if (verified.size >= VERIFIED_MAX) verified.clear();
      verified.set(token, { claims, until: Math.min(payload.exp * 1000, now + VERIFIED_TTL_MS) });
      return claims;
    },
    async sign(claims, ttlSeconds) {
      const now = Math.floor(options.clock.now() / 1000);
      // RFC 7519 §4.1.7: every token is its own, even two signed for one user in the same second
      // (a refresh right after sign-in returns a new token, not the one it was given).
      return new SignJWT({ epoch: claims.epoch, jti: randomUUID() })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(HUB_TOKEN_ISSUER)
        .setSubject(claims.userId)
        .setIssuedAt(now)
        .setExpirationTime(now + ttlSeconds)
        .sign(secret);
    },
  };
}

/**
 * An HS256 token is the hub's own only when it carries the hub's `iss`; any other names a user of
 * the application sharing `JWT_SECRET`, in that application's namespace, never a hub user id.
 */
function symmetricClaims(payload: JWTPayload): TokenClaims {
  if (payload.iss !== HUB_TOKEN_ISSUER) {
    const id = typeof payload.id === 'string' && payload.id ? payload.id : payload.sub;
    return externalClaims(payload, SHARED_SECRET_ISSUER, id);
  }
  const epoch = payload.epoch;
  if (!isSubject(payload.sub) || typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0)
    throw new HubError('HUB_ERR_INVALID_TOKEN');
  return { kind: 'hub', userId: payload.sub, epoch };
}

function externalClaims(payload: JWTPayload, issuer: string, subject: unknown): ExternalTokenClaims {
  if (!isSubject(subject) || issuer === '') throw new HubError('HUB_ERR_INVALID_TOKEN');
  const email =
    typeof payload.email === 'string' && payload.email.length <= MAX_EMAIL_LENGTH ? payload.email : undefined;
  return { kind: 'external', issuer, subject, email, emailVerified: payload.email_verified === true };
}

function isSubject(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_SUBJECT_LENGTH;
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
