import type { Selectable } from 'kysely';
import { systemRandom } from '../core/index.js';
import { newId } from './ids.js';
import type { RepositoryDeps } from './repository-deps.js';
import type { CredentialsTable } from './tables.js';

/** What a stored credential holds (its plaintext shape is the credentials module's business). */
export type CredentialKind = 'oauth_tokens' | 'oauth_client' | 'user_vars' | 'api_key';

/** The owner of app-wide credentials, which belong to no one user. */
export const SYSTEM_USER_ID = 'system';

/** Identifies one credential. */
export interface CredentialKey {
  /** A user id, or {@link SYSTEM_USER_ID}. */
  userId: string;
  serverName: string;
  kind: CredentialKind;
  /** The authorization server's issuer; '' (the default) when the credential has none. */
  issuer?: string | undefined;
}

/** A credential to store. */
export interface CredentialInput extends CredentialKey {
  /** Which encryption key sealed `ciphertext`, so keys can rotate. */
  keyId: string;
  ciphertext: string;
  expiresAt?: number | null | undefined;
}

/** Everything about a credential except its secret, for listings. */
export interface CredentialMetadata {
  id: string;
  userId: string;
  serverName: string;
  kind: CredentialKind;
  issuer: string;
  keyId: string;
  expiresAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A stored credential, still encrypted. */
export interface CredentialRecord extends CredentialMetadata {
  ciphertext: string;
}

/** Encrypted per-user credentials, one row per (user, server, kind, issuer). */
export interface CredentialsRepository {
  /**
   * Stores the credential, replacing any under the same key in one statement: a refreshed
   * access token and its rotated refresh token, sealed together, land together or not at all.
   */
  put(input: CredentialInput): Promise<CredentialRecord>;
  get(key: CredentialKey): Promise<CredentialRecord | null>;
  /** False when there was nothing to delete. */
  delete(key: CredentialKey): Promise<boolean>;
  /** Every user's credentials for the server; returns how many were removed. */
  deleteForServer(serverName: string): Promise<number>;
  /** All of one user's credentials for the server, every kind and issuer. */
  deleteForUserServer(userId: string, serverName: string): Promise<number>;
  /** The user's credentials without their ciphertext, by server, kind and issuer. */
  listForUser(userId: string): Promise<CredentialMetadata[]>;
  /** The ids of the users (and `system`) holding any credential for the server, sorted. */
  listUserIdsForServer(serverName: string): Promise<string[]>;
}

/** Builds the {@link CredentialsRepository}. */
export function createCredentialsRepository({
  db,
  clock,
  random = systemRandom,
}: RepositoryDeps): CredentialsRepository {
  return {
    put: async (input) => {
      const now = clock.now();
      const row = await db
        .insertInto('credentials')
        .values({
          id: newId(random),
          user_id: input.userId,
          server_name: input.serverName,
          kind: input.kind,
          issuer: input.issuer ?? '',
          key_id: input.keyId,
          ciphertext: input.ciphertext,
          expires_at: input.expiresAt ?? null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.columns(['user_id', 'server_name', 'kind', 'issuer']).doUpdateSet((eb) => ({
            key_id: eb.ref('excluded.key_id'),
            ciphertext: eb.ref('excluded.ciphertext'),
            expires_at: eb.ref('excluded.expires_at'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    },

    get: async (key) => {
      const row = await db
        .selectFrom('credentials')
        .selectAll()
        .where('user_id', '=', key.userId)
        .where('server_name', '=', key.serverName)
        .where('kind', '=', key.kind)
        .where('issuer', '=', key.issuer ?? '')
        .executeTakeFirst();
      return row === undefined ? null : toRecord(row);
    },

    delete: async (key) => {
      const result = await db
        .deleteFrom('credentials')
        .where('user_id', '=', key.userId)
        .where('server_name', '=', key.serverName)
        .where('kind', '=', key.kind)
        .where('issuer', '=', key.issuer ?? '')
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    deleteForServer: async (serverName) => {
      const result = await db
        .deleteFrom('credentials')
        .where('server_name', '=', serverName)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    deleteForUserServer: async (userId, serverName) => {
      const result = await db
        .deleteFrom('credentials')
        .where('user_id', '=', userId)
        .where('server_name', '=', serverName)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    listUserIdsForServer: async (serverName) => {
      const rows = await db
        .selectFrom('credentials')
        .select('user_id')
        .distinct()
        .where('server_name', '=', serverName)
        .orderBy('user_id')
        .execute();
      return rows.map((row) => row.user_id);
    },

    listForUser: async (userId) => {
      const rows = await db
        .selectFrom('credentials')
        // The ciphertext is left in the database: a listing has no use for it.
        .select([
          'id',
          'user_id',
          'server_name',
          'kind',
          'issuer',
          'key_id',
          'expires_at',
          'created_at',
          'updated_at',
        ])
        .where('user_id', '=', userId)
        .orderBy('server_name')
        .orderBy('kind')
        .orderBy('issuer')
        .execute();
      return rows.map(toMetadata);
    },
  };
}

function toKind(kind: string): CredentialKind {
  if (kind === 'oauth_tokens' || kind === 'oauth_client' || kind === 'user_vars' || kind === 'api_key')
    return kind;
  throw new TypeError(`Unknown credential kind ${kind}`);
}

function toMetadata(row: Omit<Selectable<CredentialsTable>, 'ciphertext'>): CredentialMetadata {
  return {
    id: row.id,
    userId: row.user_id,
    serverName: row.server_name,
    kind: toKind(row.kind),
    issuer: row.issuer,
    keyId: row.key_id,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toRecord(row: Selectable<CredentialsTable>): CredentialRecord {
  return { ...toMetadata(row), ciphertext: row.ciphertext };
}
