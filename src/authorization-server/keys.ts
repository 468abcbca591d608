import { createHmac } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Clock } from '../core/index.js';
import type { CipherKeyring } from '../credentials/index.js';
import type { OAuthServerRepository } from '../store/index.js';

/** RS256 is what oidc-provider signs with unless a client asks otherwise, so one RSA key covers every use. */
const SIGNING_ALG = 'RS256';

/** The sealed key's AAD: a sealed JWK copied onto another kid's row does not open. */
function keyAad(kid: string): string {
  return `oauth-server-key:${kid}`;
}

/** What {@link loadSigningKeys} needs. */
export interface SigningKeyDeps {
  repo: OAuthServerRepository;
  keyring: CipherKeyring;
  clock: Clock;
}

/** The kid of the first signing key: one fixed row that every instance races to fill, and one wins. */
const FIRST_KID = 'switchboard-as-1';

/**
 * The authorization server's private signing keys, oldest first. The first instance to start
 * generates one and stores it sealed with the credentials key under a fixed kid; an instance that
 * lost the race finds the row taken (the insert does nothing) and reads the winner's key, so every
 * instance signs with, and publishes, the same key.
 */
export async function loadSigningKeys(deps: SigningKeyDeps): Promise<JWK[]> {
  let stored = await deps.repo.listKeys();
  if (stored.length === 0) {
    const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true, modulusLength: 2048 });
    const jwk = { ...(await exportJWK(privateKey)), kid: FIRST_KID, alg: SIGNING_ALG, use: 'sig' };
    const sealed = deps.keyring.encrypt(JSON.stringify(jwk), keyAad(FIRST_KID));
    await deps.repo.addKey({ kid: FIRST_KID, sealedJwk: sealed, createdAt: deps.clock.now() });
    stored = await deps.repo.listKeys();
  }
  return stored.map((key) => {
    const parsed: unknown = JSON.parse(deps.keyring.decrypt(key.sealedJwk, keyAad(key.kid)));
    // Sealed by this function above; the AEAD tag vouches that nobody else wrote it.
    return parsed as JWK;
  });
}

/**
 * The keys that sign the authorization server's cookies: an HMAC of JWT_SECRET under a label of
 * their own, so neither the secret itself nor a key of another purpose signs them.
 */
export function cookieKeys(jwtSecret: string): string[] {
  return [
    createHmac('sha256', jwtSecret).update('switchboard authorization-server cookies').digest('base64url'),
  ];
}
