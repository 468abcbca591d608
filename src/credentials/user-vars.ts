import type { ServerConfig } from '../config/index.js';
import type { CredentialsRepository } from '../store/index.js';
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
  get(userId: string, server: CredentialTarget): Promise<Record<string, string>>;
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
interface SealedVars {
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
  return { binding: record.binding, values: stringValues(record.values) };
}

/** Creates the store over the credentials repository and the keyring. */
export function createUserVarsStore(deps: {
  credentials: CredentialsRepository;
  keyring: CipherKeyring;
}): UserVarsStore {
  const key = (userId: string, serverName: string) => ({ userId, serverName, kind: 'user_vars' as const });

  async function get(userId: string, server: CredentialTarget): Promise<Record<string, string>> {
    const row = await deps.credentials.get(key(userId, server.name));
    if (!row) return {};
    const sealed = readSealed(deps.keyring.decrypt(row.ciphertext, aad(userId, server.name)));
    return sealed?.binding === destinationDigest(server.config) ? sealed.values : {};
  }

  return {
    get,
    async merge(userId, server, values) {
      const next = { ...(await get(userId, server)) };
      for (const [name, value] of Object.entries(values)) {
        if (value === '') delete next[name];
        else next[name] = value;
      }
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
    },
    clear: (userId, serverName) => deps.credentials.delete(key(userId, serverName)),
  };
}
