import type { Kv, KvUnsubscribe } from '../kv/index.js';

/** The KV channel on which every change to an account is announced, so every instance hears of it. */
export const USER_CHANGES_CHANNEL = 'accounts:user-changed';

/** What changed about an account. */
export type UserChangeKind = 'role' | 'disabled' | 'enabled' | 'removed' | 'password';

/** One announced change. */
export interface UserChange {
  userId: string;
  change: UserChangeKind;
}

const KINDS: ReadonlySet<string> = new Set<UserChangeKind>([
  'role',
  'disabled',
  'enabled',
  'removed',
  'password',
]);

/** Sends a change to every instance sharing the KV (with an in-memory KV: this process only). */
export function publishUserChange(kv: Pick<Kv, 'publish'>, change: UserChange): Promise<void> {
  return kv.publish(USER_CHANGES_CHANNEL, JSON.stringify(change));
}

/** Calls `handler` for every well-formed change announced from now on; anything else is ignored. */
export function watchUserChanges(
  kv: Pick<Kv, 'subscribe'>,
  handler: (change: UserChange) => void | Promise<void>,
): Promise<KvUnsubscribe> {
  return kv.subscribe(USER_CHANGES_CHANNEL, (message) => {
    const change = parseUserChange(message);
    return change === null ? undefined : handler(change);
  });
}

function parseUserChange(message: string): UserChange | null {
  try {
    const value: unknown = JSON.parse(message);
    if (typeof value !== 'object' || value === null) return null;
    const { userId, change } = value as Record<string, unknown>;
    if (typeof userId !== 'string' || typeof change !== 'string' || !KINDS.has(change)) return null;
    return { userId, change: change as UserChangeKind }; // checked against KINDS just above
  } catch {
    return null;
  }
}
