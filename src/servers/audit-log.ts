import type { Identity } from '../auth/index.js';
import { HubError } from '../errors/index.js';
import type {
  AuditEvent,
  AuditFilter,
  AuditRepository,
  NewAuditEvent,
  UsersRepository,
} from '../store/index.js';
import { decodeCursor, encodeCursor } from './cursor.js';

/** What the hub records in its audit log. */
export type AuditAction =
  'server.create' | 'server.update' | 'server.delete' | 'server.share' | 'oauth.connect' | 'oauth.disconnect';

/**
 * Safe facts about an event. The type allows no nested objects, so a config (and the secrets in
 * it) cannot be passed whole by mistake; values are names, counts and flags.
 */
export type AuditDetails = Readonly<Record<string, string | number | boolean | null | readonly string[]>>;

/** One event to record. */
export interface AuditEntry {
  /** Who acted; null when the hub itself did. */
  actorId: string | null;
  action: AuditAction;
  /** The server's name (YAML or user-created); user-created servers also give `serverId` in details. */
  serverName: string;
  details?: AuditDetails;
}

/** An event as `GET /api/admin/audit` returns it: the actor's current email beside their id. */
export interface AuditView extends AuditEvent {
  /** Null for the hub itself, or when the account is gone. */
  actorEmail: string | null;
}

/** What an admin may ask of the log: a page, optionally narrowed (see {@link AuditFilter}). */
export interface AuditQuery {
  limit: number;
  after?: string | undefined;
  filter?: AuditFilter | undefined;
}

/** One page of the audit log, newest first. */
export interface AuditListing {
  events: AuditView[];
  /** Opaque; pass as `after` for the next page. Null on the last page. */
  nextCursor: string | null;
}

/** The audit log: written by the servers feature and by the OAuth feature, read by admins. */
export interface AuditLog {
  /** Records one event. */
  record(entry: AuditEntry): Promise<void>;
  /** Admins only (403 otherwise); `limit` 1–100. */
  list(caller: Identity, options: AuditQuery): Promise<AuditListing>;
}

/** The repository row for an entry; also used inside transactions with that transaction's repository. */
export function toAuditEvent(entry: AuditEntry): NewAuditEvent {
  return {
    actorId: entry.actorId,
    action: entry.action,
    targetType: 'mcp_server',
    targetId: entry.serverName,
    details: { ...entry.details },
  };
}

/**
 * Builds the {@link AuditLog} over the audit repository; with `users`, listed events name their
 * actor's email so an admin need not look each id up.
 */
export function createAuditLog(deps: {
  audit: AuditRepository;
  users?: Pick<UsersRepository, 'findById'> | undefined;
}): AuditLog {
  /** Emails of the page's actors (a page holds at most 100 events, so at most 100 reads). */
  async function emailsOf(events: readonly AuditEvent[]): Promise<Map<string, string>> {
    const users = deps.users;
    const ids = [...new Set(events.flatMap((e) => (e.actorId === null ? [] : [e.actorId])))];
    if (users === undefined) return new Map();
    const found = await Promise.all(ids.map(async (id) => [id, (await users.findById(id))?.email] as const));
    return new Map(found.flatMap(([id, email]) => (email === undefined ? [] : [[id, email] as const])));
  }

  return {
    async record(entry) {
      await deps.audit.record(toAuditEvent(entry));
    },
    async list(caller, options) {
      if (caller.role !== 'ADMIN') throw new HubError('HUB_ERR_FORBIDDEN');
      const after =
        options.after === undefined ? undefined : decodeCursor(options.after, /^\d{1,16}:[^\s]{1,200}$/);
      const page = await deps.audit.list({ limit: options.limit, after, filter: options.filter });
      const emails = await emailsOf(page.events);
      return {
        events: page.events.map((e) => ({
          ...e,
          actorEmail: e.actorId === null ? null : (emails.get(e.actorId) ?? null),
        })),
        nextCursor: page.nextCursor === null ? null : encodeCursor(page.nextCursor),
      };
    },
  };
}
