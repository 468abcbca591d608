import { type Selectable, sql } from 'kysely';
import { systemRandom } from '../core/index.js';
import { HubError } from '../errors/index.js';
import { isUniqueViolation } from './constraint-errors.js';
import { newId } from './ids.js';
import { inTransaction, type RepositoryDeps } from './repository-deps.js';
import type { UsersTable } from './tables.js';

/** A user's role. */
export type UserRole = 'USER' | 'ADMIN';

/**
 * Where an account came from, which says whether its email can be trusted for linking:
 * `local` accounts were made by an administrator; `external` ones were first seen through an
 * external token (their email is whatever that issuer claimed); `legacy` ones were made from an
 * external token before identities were stored, and are adopted by the first token naming them.
 */
export type UserOrigin = 'local' | 'external' | 'legacy';

/** A stored user. */
export interface UserRecord {
  id: string;
  /** Lower-cased. */
  email: string;
  /** Null for users known only through an external JWT. */
  passwordHash: string | null;
  role: UserRole;
  origin: UserOrigin;
  /** Hub-issued tokens carry this number; raising it invalidates every earlier one. */
  tokenEpoch: number;
  /** When the account was disabled; null while it is enabled. */
  disabledAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** An external identity: a subject as named by one issuer. */
export interface ExternalIdentity {
  issuer: string;
  subject: string;
}

/** What creating a local user takes. */
export interface NewUser {
  email: string;
  passwordHash?: string | null | undefined;
  /** Defaults to 'USER'. */
  role?: UserRole | undefined;
}

/** An account first seen through an external token. */
export interface NewExternalUser extends ExternalIdentity {
  /** The issuer's email claim; an address another account holds is not taken (see {@link UsersRepository.createExternal}). */
  email: string | undefined;
}

/** Paging for {@link UsersRepository.listPage}. */
export interface UserListOptions {
  /** Page size; defaults to 100. */
  limit?: number | undefined;
  /** The `nextCursor` of the previous page. */
  after?: string | undefined;
}

/** One page of users, by email. */
export interface UserPage {
  users: UserRecord[];
  /** Pass as `after` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** What removing a user deleted besides the account. */
export interface RemovedUser {
  credentials: number;
  grants: number;
  groupMemberships: number;
}

/** Users: local accounts and those first seen through an external JWT. */
export interface UsersRepository {
  /** Creates a local user. Throws `HUB_ERR_USER_EXISTS` when the email (any case) is taken. */
  create(input: NewUser): Promise<UserRecord>;
  findById(id: string): Promise<UserRecord | null>;
  /** Case-insensitive. */
  findByEmail(email: string): Promise<UserRecord | null>;
  /** The account an external identity signs in to; null when the hub has not seen it. */
  findByIdentity(identity: ExternalIdentity): Promise<UserRecord | null>;
  /** The external identities of each of the users, by user id (a user without any is absent). */
  identitiesOf(userIds: readonly string[]): Promise<Map<string, ExternalIdentity[]>>;
  /** Every user, by email. */
  list(): Promise<UserRecord[]>;
  listPage(options?: UserListOptions): Promise<UserPage>;
  /** Sets (or, with null, removes) the password hash and invalidates the user's tokens; null when the user does not exist. */
  setPassword(id: string, passwordHash: string | null): Promise<UserRecord | null>;
  /** Null when the user does not exist. */
  setRole(id: string, role: UserRole): Promise<UserRecord | null>;
  /** Disabling also invalidates the user's tokens; enabling leaves earlier tokens dead. Null when the user does not exist. */
  setDisabled(id: string, disabled: boolean): Promise<UserRecord | null>;
  /**
   * Makes an account for an external identity, with a fresh random id so it can never equal a
   * local or reserved id. The claimed email is stored when no other account holds it, else a
   * placeholder under `.invalid` (RFC 6761 §6.4) is. Concurrent calls for one identity return
   * the same account.
   */
  createExternal(input: NewExternalUser): Promise<UserRecord>;
  /** Lets the identity sign in to the existing account; returns the account the identity now names. */
  linkIdentity(userId: string, identity: ExternalIdentity): Promise<UserRecord | null>;
  /**
   * Gives a `legacy` account its identity (and makes it `external`); null when the account is not
   * legacy and the identity names no account (another identity adopted it first).
   */
  adoptLegacy(userId: string, identity: ExternalIdentity): Promise<UserRecord | null>;
  /**
   * Deletes the user with their credentials, grants, group memberships and identities, in one
   * transaction; null when there is no such user. Throws `HUB_ERR_CONFLICT` while the user owns
   * servers (those are deleted through the servers API, which also tells every instance).
   */
  remove(id: string): Promise<RemovedUser | null>;
}

const DEFAULT_PAGE_SIZE = 100;

/** Builds the {@link UsersRepository}. */
export function createUsersRepository(deps: RepositoryDeps): UsersRepository {
  return new SqlUsersRepository(deps);
}

type Db = RepositoryDeps['db'];
type UserChanges = { password_hash?: string | null; role?: UserRole; disabled_at?: number | null };

/** The {@link UsersRepository} over the `users` and `user_identities` tables. */
class SqlUsersRepository implements UsersRepository {
  private readonly db: Db;
  private readonly clock: RepositoryDeps['clock'];
  private readonly random: NonNullable<RepositoryDeps['random']>;
  /**
   * Every authenticated request reads its account (access is decided on current state), so this
   * query is compiled once and run with each id: building Kysely's query tree per request cost
   * more than the SQLite read itself. No plugins are installed, so nothing depends on re-compiling it.
   */
  private readonly byId;

  constructor({ db, clock, random = systemRandom }: RepositoryDeps) {
    this.db = db;
    this.clock = clock;
    this.random = random;
    this.byId = db.selectFrom('users').selectAll().where('id', '=', '').compile();
  }

  async create(input: NewUser): Promise<UserRecord> {
    try {
      return await this.insertUser(this.db, {
        email: input.email,
        passwordHash: input.passwordHash ?? null,
        role: input.role ?? 'USER',
        origin: 'local',
      });
    } catch (error) {
      // The unique index decides, so two concurrent sign-ups cannot both win.
      if (isUniqueViolation(error)) throw new HubError('HUB_ERR_USER_EXISTS', { cause: error });
      throw error;
    }
  }

  async findById(id: string): Promise<UserRecord | null> {
    const query: typeof this.byId = { ...this.byId, parameters: [id] };
    const { rows } = await this.db.executeQuery(query);
    const row = rows[0];
    return row === undefined ? null : toRecord(row);
  }

  async findByEmail(email: string): Promise<UserRecord | null> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('email', '=', normaliseEmail(email))
      .executeTakeFirst();
    return row === undefined ? null : toRecord(row);
  }

  async findByIdentity({ issuer, subject }: ExternalIdentity): Promise<UserRecord | null> {
    // One read on the hot path: the identity and its account together.
    const row = await this.db
      .selectFrom('user_identities')
      .innerJoin('users', 'users.id', 'user_identities.user_id')
      .selectAll('users')
      .where('user_identities.issuer', '=', issuer)
      .where('user_identities.subject', '=', subject)
      .executeTakeFirst();
    return row === undefined ? null : toRecord(row);
  }

  async identitiesOf(userIds: readonly string[]): Promise<Map<string, ExternalIdentity[]>> {
    const result = new Map<string, ExternalIdentity[]>();
    if (userIds.length === 0) return result;
    const rows = await this.db
      .selectFrom('user_identities')
      .select(['user_id', 'issuer', 'subject'])
      .where('user_id', 'in', userIds)
      .orderBy('issuer')
      .orderBy('subject')
      .execute();
    for (const row of rows) {
      const list = result.get(row.user_id) ?? [];
      list.push({ issuer: row.issuer, subject: row.subject });
      result.set(row.user_id, list);
    }
    return result;
  }

  async list(): Promise<UserRecord[]> {
    return (await this.db.selectFrom('users').selectAll().orderBy('email').execute()).map(toRecord);
  }

  async listPage(options: UserListOptions = {}): Promise<UserPage> {
    const limit = Math.max(1, Math.trunc(options.limit ?? DEFAULT_PAGE_SIZE));
    let query = this.db
      .selectFrom('users')
      .selectAll()
      .orderBy('email')
      .limit(limit + 1);
    if (options.after !== undefined) query = query.where('email', '>', options.after);
    const rows = await query.execute();
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      users: page.map(toRecord),
      nextCursor: rows.length > limit && last !== undefined ? last.email : null,
    };
  }

  /** A new password ends every session the old one (or a stolen token) opened (V-12). */
  setPassword(id: string, passwordHash: string | null): Promise<UserRecord | null> {
    return this.update(id, { password_hash: passwordHash }, true);
  }

  setRole(id: string, role: UserRole): Promise<UserRecord | null> {
    return this.update(id, { role }, false);
  }

  setDisabled(id: string, disabled: boolean): Promise<UserRecord | null> {
    return disabled
      ? this.update(id, { disabled_at: this.clock.now() }, true)
      : this.update(id, { disabled_at: null }, false);
  }

  async createExternal(input: NewExternalUser): Promise<UserRecord> {
    for (const withClaimedEmail of [true, false]) {
      try {
        return await this.createExternalOnce(input, withClaimedEmail);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // Either another request made this identity's account first (use it), or another
        // account took the email between our read and our insert (retry without it).
        const winner = await this.findByIdentity(input);
        if (winner !== null) return winner;
      }
    }
    throw new HubError('HUB_ERR_CONFLICT', { message: 'Could not create the account' });
  }

  async linkIdentity(userId: string, identity: ExternalIdentity): Promise<UserRecord | null> {
    await this.db
      .insertInto('user_identities')
      .values({ ...identity, user_id: userId, created_at: this.clock.now() })
      .onConflict((oc) => oc.columns(['issuer', 'subject']).doNothing())
      .execute();
    return this.findByIdentity(identity);
  }

  async adoptLegacy(userId: string, identity: ExternalIdentity): Promise<UserRecord | null> {
    const adopted = await inTransaction(this.db, async (trx) => {
      const row = await trx
        .updateTable('users')
        .set({ origin: 'external', updated_at: this.clock.now() })
        .where('id', '=', userId)
        .where('origin', '=', 'legacy')
        .returningAll()
        .executeTakeFirst();
      if (row === undefined) return undefined;
      await this.insertIdentity(trx, userId, identity);
      return toRecord(row);
    }).catch((error: unknown) => {
      if (!isUniqueViolation(error)) throw error;
      return undefined;
    });
    // Not legacy (any more): another request may have adopted it for this very identity.
    return adopted ?? this.findByIdentity(identity);
  }

  remove(id: string): Promise<RemovedUser | null> {
    return inTransaction(this.db, async (trx) => {
      const exists = await trx.selectFrom('users').select('id').where('id', '=', id).executeTakeFirst();
      if (exists === undefined) return null;
      const owned = await trx
        .selectFrom('servers')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('owner_id', '=', id)
        .executeTakeFirstOrThrow();
      if (Number(owned.n) > 0) {
        throw new HubError('HUB_ERR_CONFLICT', {
          message: `The user owns ${Number(owned.n)} server(s): delete them first`,
          details: { ownedServers: Number(owned.n) },
        });
      }
      const credentials = await trx.deleteFrom('credentials').where('user_id', '=', id).executeTakeFirst();
      const grants = await trx
        .deleteFrom('acl_entries')
        .where('principal_type', '=', 'user')
        .where('principal_id', '=', id)
        .executeTakeFirst();
      const groups = await trx.deleteFrom('group_members').where('user_id', '=', id).executeTakeFirst();
      await trx.deleteFrom('user_identities').where('user_id', '=', id).execute();
      await trx.deleteFrom('users').where('id', '=', id).execute();
      return {
        credentials: Number(credentials.numDeletedRows),
        grants: Number(grants.numDeletedRows),
        groupMemberships: Number(groups.numDeletedRows),
      };
    });
  }

  private async insertUser(
    trx: Db,
    values: { email: string; passwordHash: string | null; role: UserRole; origin: UserOrigin; id?: string },
  ): Promise<UserRecord> {
    const now = this.clock.now();
    const row = await trx
      .insertInto('users')
      .values({
        id: values.id ?? newId(this.random),
        email: normaliseEmail(values.email),
        password_hash: values.passwordHash,
        role: values.role,
        origin: values.origin,
        token_epoch: 0,
        disabled_at: null,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRecord(row);
  }

  /** Changes a user; `bumpEpoch` also ends every token issued before (V-12). */
  private async update(id: string, changes: UserChanges, bumpEpoch: boolean): Promise<UserRecord | null> {
    const row = await this.db
      .updateTable('users')
      .set({
        ...changes,
        // In the same statement, so two concurrent changes each raise it.
        ...(bumpEpoch ? { token_epoch: sql<number>`token_epoch + 1` } : {}),
        updated_at: this.clock.now(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? null : toRecord(row);
  }

  private async insertIdentity(trx: Db, userId: string, identity: ExternalIdentity): Promise<void> {
    await trx
      .insertInto('user_identities')
      .values({
        issuer: identity.issuer,
        subject: identity.subject,
        user_id: userId,
        created_at: this.clock.now(),
      })
      .execute();
  }

  private createExternalOnce(input: NewExternalUser, withClaimedEmail: boolean): Promise<UserRecord> {
    return inTransaction(this.db, async (trx) => {
      const id = newId(this.random);
      const claimed = input.email === undefined ? undefined : normaliseEmail(input.email);
      const free =
        withClaimedEmail &&
        claimed !== undefined &&
        (await trx.selectFrom('users').select('id').where('email', '=', claimed).executeTakeFirst()) ===
          undefined;
      const user = await this.insertUser(trx, {
        id,
        email: free ? claimed : `${id}@users.invalid`,
        passwordHash: null,
        role: 'USER',
        origin: 'external',
      });
      await this.insertIdentity(trx, id, input);
      return user;
    });
  }
}

/** Emails are compared lower-cased everywhere, so the unique index is case-insensitive. */
function normaliseEmail(email: string): string {
  return email.toLowerCase();
}

function toOrigin(origin: string): UserOrigin {
  // Anything unexpected is treated as external: its email is then never trusted for linking.
  return origin === 'local' || origin === 'legacy' ? origin : 'external';
}

function toRecord(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    // Anything unexpected in the column gets the lesser role, never the greater.
    role: row.role === 'ADMIN' ? 'ADMIN' : 'USER',
    origin: toOrigin(row.origin),
    tokenEpoch: Number(row.token_epoch),
    disabledAt: row.disabled_at === null ? null : Number(row.disabled_at),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
