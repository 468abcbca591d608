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
export { createUserVarsStore, type UserVarsStore } from './user-vars.js';
