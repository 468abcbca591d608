import type { Kysely } from 'kysely';

/**
 * Sign-in: server-side browser sessions, the hub's own authorization server (its records and
 * signing keys), and groups that an identity provider's claims maintain.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // One row per signed-in browser. The cookie carries a random token; only its SHA-256 is stored,
  // so a copy of the table signs nobody in.
  await db.schema
    .createTable('browser_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // The user's token epoch at sign-in: a password change or a disable ends the session too.
    .addColumn('token_epoch', 'integer', (c) => c.notNull())
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    // 'password' or 'sso'; for 'sso', the identity provider's id.
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('provider', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('browser_sessions_user_idx').on('browser_sessions').column('user_id').execute();
  await db.schema
    .createIndex('browser_sessions_expires_idx')
    .on('browser_sessions')
    .column('expires_at')
    .execute();

  // The authorization server's records (grants, codes, tokens, sessions, interactions, registered
  // clients), one row per (model, id), with the columns its lookups need lifted out of the payload.
  await db.schema
    .createTable('oauth_server_records')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('grant_id', 'text')
    .addColumn('user_code', 'text')
    .addColumn('uid', 'text')
    .addColumn('account_id', 'text')
    .addColumn('client_id', 'text')
    .addColumn('expires_at', 'bigint')
    .addColumn('consumed_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('oauth_server_records_pk', ['model', 'id'])
    .execute();
  await db.schema
    .createIndex('oauth_server_records_grant_idx')
    .on('oauth_server_records')
    .column('grant_id')
    .execute();
  await db.schema
    .createIndex('oauth_server_records_uid_idx')
    .on('oauth_server_records')
    .column('uid')
    .execute();
  await db.schema
    .createIndex('oauth_server_records_account_idx')
    .on('oauth_server_records')
    .columns(['account_id', 'model'])
    .execute();
  await db.schema
    .createIndex('oauth_server_records_expires_idx')
    .on('oauth_server_records')
    .column('expires_at')
    .execute();

  // The authorization server's signing keys, sealed with the credentials key, shared by every instance.
  await db.schema
    .createTable('oauth_server_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('sealed_jwk', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  // Groups an identity provider maintains from a claim: 'oidc:<provider id>'; null for the hub's own.
  await db.schema.alterTable('groups').addColumn('source', 'text').execute();
}

/** Undoes {@link up}. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('groups').dropColumn('source').execute();
  await db.schema.dropTable('oauth_server_keys').execute();
  await db.schema.dropTable('oauth_server_records').execute();
  await db.schema.dropTable('browser_sessions').execute();
}
