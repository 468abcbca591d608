import type { Selectable } from 'kysely';
import { systemRandom } from '../core/index.js';
import { HubError, isHubError } from '../errors/index.js';
import { isUniqueViolation } from './constraint-errors.js';
import { newId } from './ids.js';
import type { RepositoryDeps } from './repository-deps.js';
import type { UsersTable } from './tables.js';

/** A user's role (DESIGN.md §7). */
export type UserRole = 'USER' | 'ADMIN';

/** A stored user. */
export interface UserRecord {
  id: string;
  /** Lower-cased. */
  email: string;
  /** Null for users known only through an external JWT. */
  passwordHash: string | null;
  role: UserRole;
  createdAt: number;
  updatedAt: number;
}

/** What creating a user takes. */
export interface NewUser {
  email: string;
  passwordHash?: string | null | undefined;
  /** Defaults to 'USER'. */
  role?: UserRole | undefined;
  /** A chosen id (e.g. a JWT subject); a random UUID when omitted. */
  id?: string | undefined;
}

/** A user asserted by an external JWT. */
export interface ExternalUser {
  /** The id to give the user when it is created; ignored when the user already exists. */
  id?: string | undefined;
  email: string;
  /** The role for a newly created user; an existing user's role is left alone. Defaults to 'USER'. */
  role?: UserRole | undefined;
}

/** Users: local accounts and those first seen through an external JWT. */
export interface UsersRepository {
  /** Creates a user. Throws `HUB_ERR_USER_EXISTS` when the email (any case) or id is taken. */
  create(input: NewUser): Promise<UserRecord>;
  findById(id: string): Promise<UserRecord | null>;
  /** Case-insensitive. */
  findByEmail(email: string): Promise<UserRecord | null>;
  /** Every user, by email. */
  list(): Promise<UserRecord[]>;
  /** Sets (or, with null, removes) the password hash; null when the user does not exist. */
  setPassword(id: string, passwordHash: string | null): Promise<UserRecord | null>;
  /** Null when the user does not exist. */
  setRole(id: string, role: UserRole): Promise<UserRecord | null>;
  /** Returns the user with this id or email, creating it without a password when neither exists. */
  upsertExternal(input: ExternalUser): Promise<UserRecord>;
}

/** Builds the {@link UsersRepository}. */
export function createUsersRepository({ db, clock, random = systemRandom }: RepositoryDeps): UsersRepository {
  const findById = async (id: string): Promise<UserRecord | null> => {
    const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : toRecord(row);
  };
  const findByEmail = async (email: string): Promise<UserRecord | null> => {
    const row = await db
      .selectFrom('users')
      .selectAll()
      .where('email', '=', normaliseEmail(email))
      .executeTakeFirst();
    return row === undefined ? null : toRecord(row);
  };

  const create = async (input: NewUser): Promise<UserRecord> => {
    const now = clock.now();
    try {
      const row = await db
        .insertInto('users')
        .values({
          id: input.id ?? newId(random),
          email: normaliseEmail(input.email),
          password_hash: input.passwordHash ?? null,
          role: input.role ?? 'USER',
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRecord(row);
    } catch (error) {
      // The unique index decides, so two concurrent sign-ups cannot both win.
      if (isUniqueViolation(error)) throw new HubError('HUB_ERR_USER_EXISTS', { cause: error });
      throw error;
    }
  };

  const update = async (
    id: string,
    changes: { password_hash?: string | null; role?: UserRole },
  ): Promise<UserRecord | null> => {
    const row = await db
      .updateTable('users')
      .set({ ...changes, updated_at: clock.now() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? null : toRecord(row);
  };

  const findExisting = async (input: ExternalUser): Promise<UserRecord | null> =>
    (input.id === undefined ? null : await findById(input.id)) ?? (await findByEmail(input.email));

  return {
    create,
    findById,
    findByEmail,
    list: async () => (await db.selectFrom('users').selectAll().orderBy('email').execute()).map(toRecord),
    setPassword: (id, passwordHash) => update(id, { password_hash: passwordHash }),
    setRole: (id, role) => update(id, { role }),
    upsertExternal: async (input) => {
      const existing = await findExisting(input);
      if (existing !== null) return existing;
      try {
        return await create({ id: input.id, email: input.email, role: input.role, passwordHash: null });
      } catch (error) {
        // Another request created the same user between our read and our insert.
        if (!isHubError(error, 'HUB_ERR_USER_EXISTS')) throw error;
        const winner = await findExisting(input);
        if (winner === null) throw error;
        return winner;
      }
    },
  };
}

/** Emails are compared lower-cased everywhere, so the unique index is case-insensitive. */
function normaliseEmail(email: string): string {
  return email.toLowerCase();
}

function toRecord(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    // Anything unexpected in the column gets the lesser role, never the greater.
    role: row.role === 'ADMIN' ? 'ADMIN' : 'USER',
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
