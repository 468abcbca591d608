import type { Selectable } from 'kysely';
import { parseJsonObject, toJsonText, type JsonObject } from './json-text.js';
import type { RepositoryDeps } from './repository-deps.js';
import type { OAuthServerRecordsTable } from './tables.js';

/** One record of the hub's authorization server as it is written. */
export interface OAuthServerRecordInput {
  /** The library's model name: `Grant`, `AccessToken`, `Client`, `Interaction`, … */
  model: string;
  id: string;
  payload: JsonObject;
  grantId: string | null;
  userCode: string | null;
  uid: string | null;
  accountId: string | null;
  clientId: string | null;
  /** Epoch milliseconds; null for records that never expire (registered clients). */
  expiresAt: number | null;
}

/** One stored, unexpired record. */
export interface OAuthServerRecord {
  model: string;
  id: string;
  payload: JsonObject;
  accountId: string | null;
  clientId: string | null;
  expiresAt: number | null;
  /** When the record was consumed (a used code or a rotated refresh token); null while it is not. */
  consumedAt: number | null;
  createdAt: number;
}

/** A sealed signing key of the authorization server. */
export interface OAuthServerKey {
  kid: string;
  sealedJwk: string;
  createdAt: number;
}

/** Storage of the hub's own authorization server, shared by every instance through SQL. */
export interface OAuthServerRepository {
  /** Inserts or replaces the record (model, id). */
  upsert(input: OAuthServerRecordInput): Promise<void>;
  /** The record unless it is missing or expired. */
  find(model: string, id: string): Promise<OAuthServerRecord | null>;
  /** The unexpired record of `model` whose `uid` is this one. */
  findByUid(model: string, uid: string): Promise<OAuthServerRecord | null>;
  /** The unexpired record of `model` whose user code is this one. */
  findByUserCode(model: string, userCode: string): Promise<OAuthServerRecord | null>;
  /** Marks the record consumed (the first time only). */
  consume(model: string, id: string): Promise<void>;
  destroy(model: string, id: string): Promise<void>;
  /**
   * Deletes the records that belong to the grant: of one model when `model` is given (what the
   * library asks, model by model), else of every model, the grant itself included. Returns how many.
   */
  revokeByGrantId(grantId: string, model?: string): Promise<number>;
  /** The unexpired records of `model` of one account, optionally of one client, oldest first. */
  listForAccount(model: string, accountId: string, clientId?: string): Promise<OAuthServerRecord[]>;
  /** Deletes every record of one account (a removed user's grants, tokens and sessions); returns how many. */
  deleteForAccount(accountId: string): Promise<number>;
  /** Deletes every record that expired before now; returns how many. */
  sweepExpired(): Promise<number>;
  /** Stores a key unless one with this kid exists. */
  addKey(key: OAuthServerKey): Promise<void>;
  /** Every stored key, oldest first (ties broken by kid, so every instance sees one order). */
  listKeys(): Promise<OAuthServerKey[]>;
}

/** Builds the {@link OAuthServerRepository}. */
export function createOAuthServerRepository({ db, clock }: RepositoryDeps): OAuthServerRepository {
  /** Rows that have not expired yet: the store answers as if expired rows were already gone. */
  const live = () => {
    const now = clock.now();
    return db
      .selectFrom('oauth_server_records')
      .selectAll()
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
  };

  return {
    upsert: async (input) => {
      const values = {
        payload: toJsonText(input.payload),
        grant_id: input.grantId,
        user_code: input.userCode,
        uid: input.uid,
        account_id: input.accountId,
        client_id: input.clientId,
        expires_at: input.expiresAt,
      };
      await db
        .insertInto('oauth_server_records')
        .values({
          model: input.model,
          id: input.id,
          ...values,
          consumed_at: null,
          created_at: clock.now(),
        })
        .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(values))
        .execute();
    },

    find: async (model, id) => {
      const row = await live().where('model', '=', model).where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : toRecord(row);
    },

    findByUid: async (model, uid) => {
      const row = await live().where('model', '=', model).where('uid', '=', uid).executeTakeFirst();
      return row === undefined ? null : toRecord(row);
    },

    findByUserCode: async (model, userCode) => {
      const row = await live()
        .where('model', '=', model)
        .where('user_code', '=', userCode)
        .executeTakeFirst();
      return row === undefined ? null : toRecord(row);
    },

    consume: async (model, id) => {
      await db
        .updateTable('oauth_server_records')
        .set({ consumed_at: clock.now() })
        .where('model', '=', model)
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .execute();
    },

    destroy: async (model, id) => {
      await db.deleteFrom('oauth_server_records').where('model', '=', model).where('id', '=', id).execute();
    },

    revokeByGrantId: async (grantId, model) => {
      let query = db.deleteFrom('oauth_server_records').where('grant_id', '=', grantId);
      if (model !== undefined) query = query.where('model', '=', model);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    listForAccount: async (model, accountId, clientId) => {
      let query = live().where('model', '=', model).where('account_id', '=', accountId);
      if (clientId !== undefined) query = query.where('client_id', '=', clientId);
      const rows = await query.orderBy('created_at').orderBy('id').execute();
      return rows.map(toRecord);
    },

    deleteForAccount: async (accountId) => {
      const result = await db
        .deleteFrom('oauth_server_records')
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    sweepExpired: async () => {
      const result = await db
        .deleteFrom('oauth_server_records')
        .where('expires_at', 'is not', null)
        .where('expires_at', '<=', clock.now())
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    addKey: async (key) => {
      await db
        .insertInto('oauth_server_keys')
        .values({ kid: key.kid, sealed_jwk: key.sealedJwk, created_at: key.createdAt })
        .onConflict((oc) => oc.column('kid').doNothing())
        .execute();
    },

    listKeys: async () => {
      const rows = await db
        .selectFrom('oauth_server_keys')
        .selectAll()
        .orderBy('created_at')
        .orderBy('kid')
        .execute();
      return rows.map((row) => ({ kid: row.kid, sealedJwk: row.sealed_jwk, createdAt: row.created_at }));
    },
  };
}

function toRecord(row: Selectable<OAuthServerRecordsTable>): OAuthServerRecord {
  return {
    model: row.model,
    id: row.id,
    payload: parseJsonObject(row.payload, 'oauth_server_records.payload'),
    accountId: row.account_id,
    clientId: row.client_id,
    expiresAt: row.expires_at,
    consumedAt: row.consumed_at,
    createdAt: row.created_at,
  };
}
