import { z } from 'zod';
import { countStoreRead, type CipherKeyring, type CredentialCache } from '../credentials/index.js';
import { isHubError } from '../errors/index.js';
import type { Logger } from '../observability/index.js';
import type { CredentialsRepository } from '../store/index.js';
import { clientRefSchema, type ClientRef } from './clients.js';
import { TokenFits } from './token-fits.js';
import type { OAuthServerContext } from './types.js';

/** One user's token set for one server, as sealed in the `oauth_tokens` row. */
export interface StoredTokens {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  scope: string;
  /** Epoch ms on the hub's clock (FT-12: never the AS's); null when no `expires_in` was given. */
  expires_at: number | null;
  /** Epoch ms (hub clock) when the set was issued: bounds the early-refresh margin for short tokens. */
  obtained_at?: number | undefined;
  issuer: string;
  /** RFC 8707 resource the tokens were issued for; a refresh asks for the same. */
  resource: string;
  clientRef: ClientRef;
  /**
   * The destination digest of the server's config when the flow began (`destinationDigest`): the
   * tokens are used only while the server's config still has it.
   */
  binding: string;
}

const storedTokensSchema = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  token_type: z.string(),
  scope: z.string(),
  expires_at: z.number().nullable(),
  obtained_at: z.number().optional(),
  issuer: z.string(),
  resource: z.string(),
  clientRef: clientRefSchema,
  // Absent in rows written before tokens were bound to a destination: those read as absent.
  binding: z.string().optional(),
});

/** A token set from its JSON text (one held in the KV after the code exchange); null when malformed. */
export function parseStoredTokens(text: string): StoredTokens | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = storedTokensSchema.safeParse(json);
  if (!parsed.success || parsed.data.binding === undefined) return null;
  const { refresh_token, obtained_at, binding, ...rest } = parsed.data;
  return {
    ...rest,
    binding,
    ...(refresh_token === undefined ? {} : { refresh_token }),
    ...(obtained_at === undefined ? {} : { obtained_at }),
  };
}

/** How {@link TokenStore.load} reads. */
export interface LoadOptions {
  /**
   * Read the database, not this instance's cache: under the refresh lock (another instance may
   * have rotated the tokens a moment ago), after a 401, and before revoking.
   */
  fresh?: boolean;
}

/** Encrypted token sets, one row per (user, server, issuer); the newest issuer's row is current. */
export interface TokenStore {
  /**
   * The current token set when it may be sent for this connection, or null: none, a row that
   * fails to decrypt (SE-02/03), or tokens issued for another destination or resource.
   */
  load(ctx: OAuthServerContext, options?: LoadOptions): Promise<StoredTokens | null>;
  /** The current token set whatever its destination: for non-secret metadata only, never to send. */
  peek(userId: string, serverName: string): Promise<UncheckedTokens | null>;
  /**
   * One `put`, a single-row upsert: a rotated refresh token lands with its access token or not at
   * all (OA-19), and a process killed mid-write leaves the old row or the new one, never half of
   * one (FT-06). Safe to repeat with the same tokens.
   */
  save(userId: string, serverName: string, tokens: StoredTokens): Promise<void>;
  /** Deletes every issuer's token row of the (user, server); returns how many went. */
  deleteAll(userId: string, serverName: string): Promise<number>;
}

/** SE-02: AAD binds a row to its user, server and issuer; a copied ciphertext never opens. */
function tokensAad(userId: string, serverName: string, issuer: string): string {
  return `oauth_tokens|${userId}|${serverName}|${issuer}`;
}

const HINT_LIMIT = 10_000;

/** A row as read back, unchecked: `binding` is missing in rows written before tokens were bound. */
export type UncheckedTokens = Omit<StoredTokens, 'binding'> & { binding?: string };

/** Builds the {@link TokenStore}. */
export function createTokenStore(deps: {
  credentials: CredentialsRepository;
  keyring: CipherKeyring;
  logger: Logger;
  /** Decrypted sets kept in memory, invalidated on every instance by each save and delete. */
  cache?: CredentialCache<UncheckedTokens | null> | undefined;
}): TokenStore {
  const cache = deps.cache;
  const fits = new TokenFits();
  // Which issuer's row is current, so the hot path is one indexed read instead of a listing.
  // Issuers are not secret; a stale hint only costs the listing it saves.
  const issuerHints = new Map<string, string>();
  const hintKey = (userId: string, serverName: string): string => `${userId}\u0000${serverName}`;
  const rowKey = (userId: string, serverName: string, issuer: string) => ({
    userId,
    serverName,
    kind: 'oauth_tokens' as const,
    issuer,
  });
  const remember = (userId: string, serverName: string, issuer: string): void => {
    const key = hintKey(userId, serverName);
    issuerHints.delete(key);
    issuerHints.set(key, issuer);
    if (issuerHints.size > HINT_LIMIT) {
      const oldest = issuerHints.keys().next();
      if (!oldest.done) issuerHints.delete(oldest.value);
    }
  };

  async function issuersOf(userId: string, serverName: string): Promise<string[]> {
    countStoreRead();
    const rows = await deps.credentials.listForUser(userId);
    return rows
      .filter((r) => r.serverName === serverName && r.kind === 'oauth_tokens')
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .map((r) => r.issuer);
  }

  async function currentRow(userId: string, serverName: string) {
    const hinted = issuerHints.get(hintKey(userId, serverName));
    if (hinted !== undefined) {
      countStoreRead();
      const row = await deps.credentials.get(rowKey(userId, serverName, hinted));
      if (row) return row;
      issuerHints.delete(hintKey(userId, serverName));
    }
    const [newest] = await issuersOf(userId, serverName);
    if (newest === undefined) return null;
    countStoreRead();
    const row = await deps.credentials.get(rowKey(userId, serverName, newest));
    if (row) remember(userId, serverName, newest);
    return row;
  }

  /** The current row, opened and checked for shape; its binding may be missing (an old row). */
  async function readRow(userId: string, serverName: string): Promise<UncheckedTokens | null> {
    const row = await currentRow(userId, serverName);
    if (!row) return null;
    let plaintext: string;
    try {
      plaintext = deps.keyring.decrypt(row.ciphertext, tokensAad(userId, serverName, row.issuer));
    } catch (error) {
      if (!isHubError(error, 'HUB_ERR_DECRYPT_FAILED')) throw error;
      // SE-02/03: a swapped or tampered row reads as "no tokens", loudly, never as a 500.
      deps.logger.warn(
        { userId, serverName, issuer: row.issuer, alert: 'credential_decrypt_failed' },
        'Stored OAuth tokens failed to decrypt; treating them as absent',
      );
      return null;
    }
    const parsed = storedTokensSchema.safeParse(JSON.parse(plaintext));
    if (!parsed.success || parsed.data.issuer !== row.issuer) {
      deps.logger.warn({ userId, serverName }, 'Stored OAuth tokens are malformed; treating them as absent');
      return null;
    }
    const { refresh_token, binding, ...rest } = parsed.data;
    return Object.freeze({
      ...rest,
      clientRef: Object.freeze(rest.clientRef),
      ...(refresh_token === undefined ? {} : { refresh_token }),
      ...(binding === undefined ? {} : { binding }),
    });
  }

  /** The current set: from the cache when warm, else read (and kept unless it changed meanwhile). */
  function read(userId: string, serverName: string, fresh = false): Promise<UncheckedTokens | null> {
    if (cache === undefined) return readRow(userId, serverName);
    // A fresh read replaces what this instance held, so the next warm read agrees with it.
    if (fresh) cache.forget({ userId, serverName });
    return cache.get(userId, serverName, () => readRow(userId, serverName));
  }

  return {
    async load(ctx, options) {
      const current = await read(ctx.userId, ctx.serverName, options?.fresh === true);
      if (!current) return null;
      const misfit = fits.misfit(current, ctx);
      if (misfit === null && current.binding !== undefined) return current as StoredTokens;
      // Not deleted: another instance may hold a newer config, and re-authorizing replaces the row.
      deps.logger.debug(
        { userId: ctx.userId, serverName: ctx.serverName, misfit },
        'Stored OAuth tokens are for another destination; treating them as absent',
      );
      return null;
    },

    peek: (userId, serverName) => read(userId, serverName),

    async save(userId, serverName, tokens) {
      await deps.credentials.put({
        ...rowKey(userId, serverName, tokens.issuer),
        keyId: deps.keyring.activeKeyId,
        ciphertext: deps.keyring.encrypt(
          JSON.stringify(tokens),
          tokensAad(userId, serverName, tokens.issuer),
        ),
        expiresAt: tokens.expires_at,
      });
      remember(userId, serverName, tokens.issuer);
      try {
        // Tokens of an AS the server no longer uses are dead weight, and must never be sent anywhere.
        for (const issuer of await issuersOf(userId, serverName)) {
          if (issuer !== tokens.issuer) await deps.credentials.delete(rowKey(userId, serverName, issuer));
        }
      } finally {
        await cache?.changed(userId, serverName);
      }
    },

    async deleteAll(userId, serverName) {
      issuerHints.delete(hintKey(userId, serverName));
      let deleted = 0;
      try {
        for (const issuer of await issuersOf(userId, serverName)) {
          if (await deps.credentials.delete(rowKey(userId, serverName, issuer))) deleted += 1;
        }
      } finally {
        // Even after a failed delete: what this and every instance holds may be gone from the store.
        await cache?.changed(userId, serverName);
      }
      return deleted;
    },
  };
}
