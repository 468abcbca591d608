import { type Selectable, sql } from 'kysely';
import { systemRandom } from '../core/index.js';
import { HubError } from '../errors/index.js';
import { newId } from './ids.js';
import { type JsonObject, parseJsonObject, toJsonText } from './json-text.js';
import { LIKE_ESCAPE } from './like-pattern.js';
import type { RepositoryDeps } from './repository-deps.js';
import type { AuditEventsTable } from './tables.js';

/** Something that happened, as recorded. */
export interface AuditEvent {
  id: string;
  at: number;
  /** Null when the hub itself acted. */
  actorId: string | null;
  /** A stable dotted verb, e.g. 'server.create'. */
  action: string;
  targetType: string | null;
  targetId: string | null;
  /** Safe facts only: never a secret. */
  details: JsonObject;
}

/** What recording an event takes; `at` comes from the clock. */
export interface NewAuditEvent {
  actorId: string | null;
  action: string;
  targetType?: string | null | undefined;
  targetId?: string | null | undefined;
  details?: JsonObject | undefined;
}

/** Paging for {@link AuditRepository.list}. */
export interface AuditListOptions {
  /** Page size; defaults to 100. */
  limit?: number | undefined;
  /** The `nextCursor` of the previous page. */
  after?: string | undefined;
  /** Only events matching these (all of them); the cursor must come from the same filter. */
  filter?: AuditFilter | undefined;
}

/**
 * What {@link AuditRepository.list} may narrow by. Each given field must match; `since`/`until` are
 * epoch ms, inclusive.
 */
export interface AuditFilter {
  /** An exact action, or with `prefix` every action that starts with it (e.g. `server.`). */
  action?: { value: string; prefix: boolean } | undefined;
  actorId?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
}

/** One page of events, newest first. */
export interface AuditPage {
  events: AuditEvent[];
  /** Pass as `after` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** The append-only audit log. */
export interface AuditRepository {
  record(event: NewAuditEvent): Promise<AuditEvent>;
  /** Newest first. Throws `HUB_ERR_BAD_REQUEST` for a cursor this function did not hand out. */
  list(options?: AuditListOptions): Promise<AuditPage>;
}

const DEFAULT_PAGE_SIZE = 100;

/** Builds the {@link AuditRepository}. */
export function createAuditRepository({ db, clock, random = systemRandom }: RepositoryDeps): AuditRepository {
  return {
    record: async (event) => {
      const row = await db
        .insertInto('audit_events')
        .values({
          id: newId(random),
          at: clock.now(),
          actor_id: event.actorId,
          action: event.action,
          target_type: event.targetType ?? null,
          target_id: event.targetId ?? null,
          details: toJsonText(event.details ?? {}),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toEvent(row);
    },

    list: async (options = {}) => {
      // A page holds at least one row, so a bad limit cannot stall a caller that pages to the end.
      const limit = Math.max(1, Math.trunc(options.limit ?? DEFAULT_PAGE_SIZE));
      // Keyset on (at, id): events recorded in the same millisecond still page without gaps.
      let query = db
        .selectFrom('audit_events')
        .selectAll()
        .orderBy('at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit + 1);
      const filter = options.filter ?? {};
      if (filter.action !== undefined) {
        const { value, prefix } = filter.action;
        // LIKE on both dialects; actions are lower-case, so SQLite's case-insensitive LIKE changes nothing.
        query = prefix
          ? query.where(sql<boolean>`action like ${prefixPattern(value)} escape ${LIKE_ESCAPE}`)
          : query.where('action', '=', value);
      }
      if (filter.actorId !== undefined) query = query.where('actor_id', '=', filter.actorId);
      if (filter.targetType !== undefined) query = query.where('target_type', '=', filter.targetType);
      if (filter.targetId !== undefined) query = query.where('target_id', '=', filter.targetId);
      if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
      if (filter.until !== undefined) query = query.where('at', '<=', filter.until);
      if (options.after !== undefined) {
        const cursor = parseCursor(options.after);
        query = query.where((eb) =>
          eb.or([eb('at', '<', cursor.at), eb.and([eb('at', '=', cursor.at), eb('id', '<', cursor.id)])]),
        );
      }
      const rows = await query.execute();
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        events: page.map(toEvent),
        nextCursor: rows.length > limit && last !== undefined ? `${last.at}:${last.id}` : null,
      };
    },
  };
}

/** A LIKE pattern for text starting with `prefix`; wildcards in it are escaped. */
function prefixPattern(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (ch) => `${LIKE_ESCAPE}${ch}`)}%`;
}

function parseCursor(cursor: string): { at: number; id: string } {
  const match = /^(\d{1,16}):(.+)$/.exec(cursor);
  const at = Number(match?.[1]);
  const id = match?.[2];
  if (id === undefined || !Number.isSafeInteger(at)) {
    throw new HubError('HUB_ERR_BAD_REQUEST', { message: 'Invalid cursor' });
  }
  return { at, id };
}

function toEvent(row: Selectable<AuditEventsTable>): AuditEvent {
  return {
    id: row.id,
    at: row.at,
    actorId: row.actor_id,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    details: parseJsonObject(row.details, 'audit_events.details'),
  };
}
