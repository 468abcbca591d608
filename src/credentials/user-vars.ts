import type { CredentialsRepository } from '../store/index.js';
import type { CipherKeyring } from './crypto.js';

/** A user's custom variables for servers (API keys, account ids), encrypted at rest. */
export interface UserVarsStore {
  /** The user's values for the server; empty when none are set. */
  get(userId: string, serverName: string): Promise<Record<string, string>>;
  /** Merges values into the stored ones; an empty string removes that variable. Returns the result. */
  merge(
    userId: string,
    serverName: string,
    values: Readonly<Record<string, string>>,
  ): Promise<Record<string, string>>;
  /** Removes all of the user's values for the server; true when there were any. */
  clear(userId: string, serverName: string): Promise<boolean>;
}

/** AAD binds the ciphertext to its owner and server, so a row copied to another user never decrypts. */
function aad(userId: string, serverName: string): string {
  return `user_vars|${userId}|${serverName}`;
}

/** Creates the store over the credentials repository and the keyring. */
export function createUserVarsStore(deps: {
  credentials: CredentialsRepository;
  keyring: CipherKeyring;
}): UserVarsStore {
  const key = (userId: string, serverName: string) => ({ userId, serverName, kind: 'user_vars' as const });

  async function get(userId: string, serverName: string): Promise<Record<string, string>> {
    const row = await deps.credentials.get(key(userId, serverName));
    if (!row) return {};
    const parsed: unknown = JSON.parse(deps.keyring.decrypt(row.ciphertext, aad(userId, serverName)));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    return Object.fromEntries(
      Object.entries(parsed as Record<string, unknown>).filter(
        (e): e is [string, string] => typeof e[1] === 'string',
      ),
    );
  }

  return {
    get,
    async merge(userId, serverName, values) {
      const next = { ...(await get(userId, serverName)) };
      for (const [name, value] of Object.entries(values)) {
        if (value === '') delete next[name];
        else next[name] = value;
      }
      if (Object.keys(next).length === 0) {
        await deps.credentials.delete(key(userId, serverName));
        return next;
      }
      await deps.credentials.put({
        ...key(userId, serverName),
        keyId: deps.keyring.activeKeyId,
        ciphertext: deps.keyring.encrypt(JSON.stringify(next), aad(userId, serverName)),
      });
      return next;
    },
    clear: (userId, serverName) => deps.credentials.delete(key(userId, serverName)),
  };
}
