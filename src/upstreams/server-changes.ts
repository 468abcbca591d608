import type { Kv, KvUnsubscribe } from '../kv/index.js';

/**
 * The KV channel on which a change to a server's connections reaches every instance: connections
 * live in each instance's pool, so each must close its own.
 */
export const SERVER_CHANGES_CHANNEL = 'servers:connections-changed';

/**
 * `closed`: the server was deleted or edited; every connection to it closes, its cached tools and
 * what was learned about it (its OAuth need) are forgotten. `access`: who may use it changed; the
 * connections of users who lost it close.
 */
export interface ServerChange {
  serverName: string;
  change: 'closed' | 'access';
}

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

/** A {@link ServerChange} read back from the channel; null for anything malformed. */
export function parseServerChange(message: string): ServerChange | null {
  try {
    const value: unknown = JSON.parse(message);
    if (typeof value !== 'object' || value === null) return null;
    const { serverName, change } = value as Record<string, unknown>;
    if (typeof serverName !== 'string' || (change !== 'closed' && change !== 'access')) return null;
    return { serverName, change };
  } catch {
    return null;
  }
}
