import { HubError } from '../errors/index.js';
import type { ExternalTokenClaims } from './tokens.js';

/** An account as identity needs it (the store's user record satisfies it). */
export interface UserRecord {
  id: string;
  email: string;
  role: 'USER' | 'ADMIN';
  passwordHash: string | null;
  /** `local` accounts were made by an administrator; only their emails are trusted for linking. */
  origin: 'local' | 'external' | 'legacy';
  tokenEpoch: number;
  disabledAt: number | null;
}

/** An external identity: a subject as named by one issuer. */
export interface ExternalIdentity {
  issuer: string;
  subject: string;
}

/** The account lookups and writes that resolving an external identity needs. */
export interface ExternalAccountStore {
  findById(id: string): Promise<UserRecord | null>;
  findByEmail(email: string): Promise<UserRecord | null>;
  findByIdentity(identity: ExternalIdentity): Promise<UserRecord | null>;
  createExternal(input: ExternalIdentity & { email: string | undefined }): Promise<UserRecord>;
  linkIdentity(userId: string, identity: ExternalIdentity): Promise<UserRecord | null>;
  adoptLegacy(userId: string, identity: ExternalIdentity): Promise<UserRecord | null>;
}

/**
 * The account an external identity signs in to. Accounts are keyed by (issuer, subject): a
 * subject never names a hub user id, and an email claim alone never opens an existing account.
 *
 * When the identity is new: a `legacy` account whose id is the subject (made before identities
 * were stored) is adopted; any other account with that id is refused, since the subject then
 * names a hub id (a token minted before hub tokens carried their issuer, or a forged subject);
 * an issuer in `linkIssuers` that says `email_verified: true` links to the local account with
 * that email; otherwise a new account with its own random id is made.
 */
export async function resolveExternalAccount(
  store: ExternalAccountStore,
  claims: ExternalTokenClaims,
  linkIssuers: ReadonlySet<string>,
): Promise<UserRecord> {
  const identity = { issuer: claims.issuer, subject: claims.subject };
  const known = await store.findByIdentity(identity);
  if (known !== null) return known;

  const sameId = await store.findById(claims.subject);
  if (sameId !== null) {
    const adopted = sameId.origin === 'legacy' ? await store.adoptLegacy(sameId.id, identity) : null;
    if (adopted !== null) return adopted;
    throw new HubError('HUB_ERR_INVALID_TOKEN');
  }

  if (linkIssuers.has(claims.issuer) && claims.emailVerified && claims.email !== undefined) {
    const target = await store.findByEmail(claims.email);
    // Only an administrator vouched for a local account's email; an account another external
    // identity made could carry an address its maker never proved, so it is never a target.
    if (target !== null && target.origin === 'local') {
      const linked = await store.linkIdentity(target.id, identity);
      if (linked !== null) return linked;
    }
  }
  return store.createExternal({ ...identity, email: claims.email });
}
