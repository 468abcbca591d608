export {
  createCipherKeyring,
  credentialsKeyId,
  keyringFromCredentialsKey,
  parseCredentialsKey,
  type CipherKey,
  type CipherKeyring,
  type CipherKeyringOptions,
  type CredentialsKeyringOptions,
} from './crypto.js';
export { changedDestinationFields, destinationDigest } from './destination.js';
export {
  createUserVarsStore,
  type CredentialTarget,
  type SealedVars,
  type UserVarsStore,
} from './user-vars.js';
export { CredentialCache, type CredentialCacheLimits, type CredentialChange } from './credential-cache.js';
export {
  CREDENTIAL_CHANGES_CHANNEL,
  CredentialFeed,
  DEFAULT_CREDENTIAL_CACHE_LIMITS,
} from './credential-feed.js';
export { countDecryption, countStoreRead, credentialCounters, type CredentialCounters } from './counters.js';
