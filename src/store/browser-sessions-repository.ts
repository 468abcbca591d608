import type { Selectable } from 'kysely';
import type { RepositoryDeps } from './repository-deps.js';
import type { BrowserSessionsTable } from './tables.js';

/** How a browser signed in. */
export type SessionMethod = 'password' | 'sso';

/** One signed-in browser, as stored (the cookie's token itself never is: only its hash). */
export interface BrowserSessionRecord {
  /** SHA-256 of the cookie's token, base64url. */
  idHash: string;
  userId: string;
  /** The user's token epoch at sign-in. */
  tokenEpoch: number;
  csrfToken: string;
  method: SessionMethod;
  /** The identity provider's id for a single-sign-on session; null for a password one. */
  provider: string | null;
  createdAt: number;
  lastSeenAt: number;
  /** Absolute end of the session. */
  expiresAt: number;
}

/** Server-side browser sessions, shared by every instance on the same database. */
export interface BrowserSessionsRepository {
  create(session: BrowserSessionRecord): Promise<void>;
  findByHash(idHash: string): Promise<BrowserSessionRecord | null>;
  /** Moves `last_seen_at` forward (never back: two instances may touch one session at once). */
  touch(idHash: string, lastSeenAt: number): Promise<void>;
  /** False when there was no such session. */
  delete(idHash: string): Promise<boolean>;
  /** Ends every session of the user; returns how many there were. */
  deleteForUser(userId: string): Promise<number>;
  /** Deletes sessions past their absolute end or idle since before `idleBefore`; returns how many. */
  deleteExpired(now: number, idleBefore: number): Promise<number>;
}

/** Builds the {@link BrowserSessionsRepository}. */
export function createBrowserSessionsRepository({ db }: RepositoryDeps): BrowserSessionsRepository {
  return {
    async create(session) {
      await db
        .insertInto('browser_sessions')
        .values({
          id_hash: session.idHash,
          user_id: session.userId,
          token_epoch: session.tokenEpoch,
          csrf_token: session.csrfToken,
          method: session.method,
          provider: session.provider,
          created_at: session.createdAt,
          last_seen_at: session.lastSeenAt,
          expires_at: session.expiresAt,
        })
        .execute();
    },

    async findByHash(idHash) {
      const row = await db
        .selectFrom('browser_sessions')
        .selectAll()
        .where('id_hash', '=', idHash)
        .executeTakeFirst();
      return row === undefined ? null : toRecord(row);
    },

    async touch(idHash, lastSeenAt) {
      await db
        .updateTable('browser_sessions')
        .set({ last_seen_at: lastSeenAt })
        .where('id_hash', '=', idHash)
        .where('last_seen_at', '<', lastSeenAt)
        .execute();
    },

    async delete(idHash) {
      const result = await db.deleteFrom('browser_sessions').where('id_hash', '=', idHash).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    async deleteForUser(userId) {
      const result = await db.deleteFrom('browser_sessions').where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async deleteExpired(now, idleBefore) {
      const result = await db
        .deleteFrom('browser_sessions')
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<', idleBefore)]))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

function toRecord(row: Selectable<BrowserSessionsTable>): BrowserSessionRecord {
  return {
    idHash: row.id_hash,
    userId: row.user_id,
    tokenEpoch: row.token_epoch,
    csrfToken: row.csrf_token,
    // Only this repository writes the column, with one of the two values.
    method: row.method === 'sso' ? 'sso' : 'password',
    provider: row.provider,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.expires_at,
  };
}
