import type { ServerConfig } from '../config/index.js';
import type { CredentialsRepository } from '../store/index.js';
import { countStoreRead } from './counters.js';
import type { CredentialCache } from './credential-cache.js';
import type { CipherKeyring } from './crypto.js';
import { destinationDigest } from './destination.js';

/** The server a user's values are for: its name and its current config (where the values go). */
export interface CredentialTarget {
  name: string;
  config: ServerConfig;
}

/**
 * A user's custom variables for servers (API keys, account ids), encrypted at rest and bound to
 * the server's destination at the time they were set: once the server's URL, header templates,
 * API-key placement or OAuth block change, they read as unset and are never sent.
 */
export interface UserVarsStore {
  /** The user's values for the server; empty when none are set or they were set for another destination. */
  get(userId: string, server: CredentialTarget): Promise<Readonly<Record<string, string>>>;
  /**
   * Merges values into the stored ones (those bound to the server's current destination) and
   * binds the result to it; an empty string removes that variable. Returns the result.
   */
  merge(
    userId: string,
    server: CredentialTarget,
    values: Readonly<Record<string, string>>,
  ): Promise<Record<string, string>>;
  /** Removes all of the user's values for the server; true when there were any. */
  clear(userId: string, serverName: string): Promise<boolean>;
}

/** AAD binds the ciphertext to its owner and server, so a row copied to another user never decrypts. */
function aad(userId: string, serverName: string): string {
  return `user_vars|${userId}|${serverName}`;
}

/** What is sealed: the values and the destination digest they were set for. */
export interface SealedVars {
  binding: string;
  values: Record<string, string>;
}

function stringValues(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).filter(
      (e): e is [string, string] => typeof e[1] === 'string',
    ),
  );
}

/**
 * Reads a sealed payload. A row written before values were bound (a bare record of values, no
 * `binding`) has no destination to compare with: it reads as unbound, and so as unset.
 */
function readSealed(plaintext: string): SealedVars | null {
  const parsed: unknown = JSON.parse(plaintext);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const record = parsed as Record<string, unknown>;
  if (typeof record.binding !== 'string') return null;
  // Frozen: the same object is handed to every call while cached, and stands for its version.
  return Object.freeze({ binding: record.binding, values: Object.freeze(stringValues(record.values)) });
}

/** What `get` answers when nothing fits: one shared empty record. */
const NONE: Readonly<Record<string, string>> = Object.freeze({});

/** Creates the store over the credentials repository and the keyring. */
export function createUserVarsStore(deps: {
  credentials: CredentialsRepository;
  keyring: CipherKeyring;
  /** Decrypted values kept in memory, forgotten on every instance by each merge and clear. */
  cache?: CredentialCache<SealedVars | null> | undefined;
}): UserVarsStore {
  const key = (userId: string, serverName: string) => ({ userId, serverName, kind: 'user_vars' as const });

  async function readRow(userId: string, serverName: string): Promise<SealedVars | null> {
    countStoreRead();
    const row = await deps.credentials.get(key(userId, serverName));
    if (!row) return null;
    return readSealed(deps.keyring.decrypt(row.ciphertext, aad(userId, serverName)));
  }

  /** The values bound to the server's current destination; frozen, the same object while unchanged. */
  async function get(
    userId: string,
    server: CredentialTarget,
    fresh = false,
  ): Promise<Readonly<Record<string, string>>> {
    const sealed = await (fresh || deps.cache === undefined
      ? readRow(userId, server.name)
      : deps.cache.get(userId, server.name, () => readRow(userId, server.name)));
    return sealed?.binding === destinationDigest(server.config) ? sealed.values : NONE;
  }

  /** After a write or delete: forgotten here and on every instance. */
  const changed = async (userId: string, serverName: string): Promise<void> => {
    await deps.cache?.changed(userId, serverName);
  };

  return {
    get: (userId, server) => get(userId, server),
    async merge(userId, server, values) {
      // Merged into what the store holds, never into a cached copy another instance may have replaced.
      const next = { ...(await get(userId, server, true)) };
      for (const [name, value] of Object.entries(values)) {
        if (value === '') delete next[name];
        else next[name] = value;
      }
      try {
        if (Object.keys(next).length === 0) {
          await deps.credentials.delete(key(userId, server.name));
          return next;
        }
        const sealed: SealedVars = { binding: destinationDigest(server.config), values: next };
        await deps.credentials.put({
          ...key(userId, server.name),
          keyId: deps.keyring.activeKeyId,
          ciphertext: deps.keyring.encrypt(JSON.stringify(sealed), aad(userId, server.name)),
        });
        return next;
      } finally {
        await changed(userId, server.name);
      }
    },
    async clear(userId, serverName) {
      try {
        return await deps.credentials.delete(key(userId, serverName));
      } finally {
        await changed(userId, serverName);
      }
    },
  };
}
