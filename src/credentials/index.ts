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
export { createUserVarsStore, type CredentialTarget, type UserVarsStore } from './user-vars.js';
