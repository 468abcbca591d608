import type { Kv, KvUnsubscribe } from '../kv/index.js';

/**
 * The KV channel on which a change to a server's connections reaches every instance: connections
 * live in each instance's pool, so each must close its own.
 */
export const SERVER_CHANGES_CHANNEL = 'servers:connections-changed';

/**
 * `closed`: the server was deleted; every connection to it closes, its cached tools and what was
 * learned about it (its OAuth need) are forgotten. `replaced`: it was edited; the same, and then the
 * connections of users who still see it reopen in the background with the new config (so their
 * tool lists are filled again). `access`: who may use it changed; the connections of users who
 * lost it close.
 */
export type ServerChangeKind = 'closed' | 'replaced' | 'access';

/** One change to a server's connections, as published on {@link SERVER_CHANGES_CHANNEL}. */
export interface ServerChange {
  serverName: string;
  change: ServerChangeKind;
  /**
   * The instance that made the change, when it already applied the change to its own pool (a
   * `replaced` one: its reopening must not be closed again by its own announcement).
   */
  origin?: string;
}

const KINDS: ReadonlySet<unknown> = new Set<ServerChangeKind>(['closed', 'replaced', 'access']);

/** Tells every instance (this one too) of a change. */
export function publishServerChange(kv: Pick<Kv, 'publish'>, change: ServerChange): Promise<void> {
  return kv.publish(SERVER_CHANGES_CHANNEL, JSON.stringify(change));
}

/** Calls `handler` for every well-formed change announced from now on; anything else is ignored. */
export function watchServerChanges(
  kv: Pick<Kv, 'subscribe'>,
  handler: (change: ServerChange) => void | Promise<void>,
): Promise<KvUnsubscribe> {
  return kv.subscribe(SERVER_CHANGES_CHANNEL, (message) => {
    const change = parseServerChange(message);
    return change === null ? undefined : handler(change);
  });
}

/** A {@link ServerChange} read back from the channel; null for anything malformed or of an unknown kind. */
export function parseServerChange(message: string): ServerChange | null {
  try {
    const value: unknown = JSON.parse(message);
    if (typeof value !== 'object' || value === null) return null;
    const { serverName, change, origin } = value as Record<string, unknown>;
    if (typeof serverName !== 'string' || !KINDS.has(change)) return null;
    if (origin !== undefined && typeof origin !== 'string') return null;
    const kind = change as ServerChangeKind;
    return origin === undefined ? { serverName, change: kind } : { serverName, change: kind, origin };
  } catch {
    return null;
  }
}
