import type { Identity } from '../auth/index.js';
import { HubError } from '../errors/index.js';
import type { AuditEvent, AuditRepository, NewAuditEvent } from '../store/index.js';
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

/** An event as `GET /api/admin/audit` returns it. */
export type AuditView = AuditEvent;

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
  list(caller: Identity, options: { limit: number; after?: string | undefined }): Promise<AuditListing>;
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

/** Builds the {@link AuditLog} over the audit repository. */
export function createAuditLog(deps: { audit: AuditRepository }): AuditLog {
  return {
    async record(entry) {
      await deps.audit.record(toAuditEvent(entry));
    },
    async list(caller, options) {
      if (caller.role !== 'ADMIN') throw new HubError('HUB_ERR_FORBIDDEN');
      const after =
        options.after === undefined ? undefined : decodeCursor(options.after, /^\d{1,16}:[^\s]{1,200}$/);
      const page = await deps.audit.list({ limit: options.limit, after });
      return {
        events: page.events,
        nextCursor: page.nextCursor === null ? null : encodeCursor(page.nextCursor),
      };
    },
  };
}
