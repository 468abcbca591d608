import type { CipherKeyring } from '../credentials/index.js';
import { parseStoredTokens, type StoredTokens } from './token-store.js';

// The AAD names the flow and the state: a held token set moved onto another state never opens.
const aad = (flowId: string, state: string): string => `oauth_held_tokens|${flowId}|${state}`;

/**
 * Seals the tokens a callback obtained, for the state's claim in the KV: they wait there, encrypted
 * like the stored rows, until the database takes them, so a retried callback need not (and must
 * not) redeem the single-use code again.
 */
export function sealHeldTokens(
  keyring: CipherKeyring,
  flowId: string,
  state: string,
  tokens: StoredTokens,
): string {
  return keyring.encrypt(JSON.stringify(tokens), aad(flowId, state));
}

/** Opens held tokens; null when the blob is not this flow's and state's, or is malformed. */
export function openHeldTokens(
  keyring: CipherKeyring,
  flowId: string,
  state: string,
  sealed: string,
): StoredTokens | null {
  let text: string;
  try {
    text = keyring.decrypt(sealed, aad(flowId, state));
  } catch {
    return null;
  }
  return parseStoredTokens(text);
}
