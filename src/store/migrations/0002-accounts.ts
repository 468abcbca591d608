import { type Kysely, sql } from 'kysely';

/** A user id the hub minted itself: a random (version 4) UUID, lower-case. */
const HUB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UPDATE_BATCH = 500;

/**
 * Accounts: a per-user token epoch, a disabled flag, where each account came from, and external
 * identities keyed by (issuer, subject) instead of sharing the hub's id space.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('token_epoch', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('users').addColumn('disabled_at', 'bigint').execute();
  // 'local' (made by an administrator), 'external' (first seen through an external token), or
  // 'legacy' (made from an external token before identities were stored; see below).
  await db.schema
    .alterTable('users')
    .addColumn('origin', 'text', (c) => c.notNull().defaultTo('local'))
    .execute();

  await db.schema
    .createTable('user_identities')
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('user_identities_pk', ['issuer', 'subject'])
    .execute();
  await db.schema
    .createIndex('user_identities_user_id_idx')
    .on('user_identities')
    .column('user_id')
    .execute();

  // Before this migration an external token's subject became the user's id. Such accounts have
  // no password and an id the hub did not mint; they are marked so that the first token naming
  // that subject adopts the account instead of opening an empty second one. Accounts the hub
  // minted (UUIDs) stay local: an external subject can never take one of them over.
  const { rows } = await sql<{ id: string }>`select id from users where password_hash is null`.execute(db);
  const legacy = rows.map((r) => r.id).filter((id) => !HUB_ID.test(id));
  for (let i = 0; i < legacy.length; i += UPDATE_BATCH) {
    const batch = legacy.slice(i, i + UPDATE_BATCH);
    await sql`update users set origin = 'legacy' where id in (${sql.join(batch)})`.execute(db);
  }
}

/** Undoes {@link up}. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('user_identities').execute();
  for (const column of ['origin', 'disabled_at', 'token_epoch']) {
    await db.schema.alterTable('users').dropColumn(column).execute();
  }
}
