import type { IdentityService } from '../auth/index.js';
import type { Kv, KvUnsubscribe } from '../kv/index.js';
import type { Logger } from '../observability/index.js';
import { publishUserChange, watchUserChanges, type UserChange } from './user-changes.js';

/**
 * The `announce` of the accounts service for a running hub: this instance forgets its cached copy
 * of the user at once (its next request reads the account again), then every instance is told.
 */
export function announceAccountChanges(deps: {
  kv: Pick<Kv, 'publish'>;
  identity: Pick<IdentityService, 'forget'>;
}): (change: UserChange) => Promise<void> {
  return async (change) => {
    deps.identity.forget(change.userId);
    await publishUserChange(deps.kv, change);
  };
}

/**
 * Applies every announced change on this instance: the user's cached account is dropped, and
 * `closeConnections` hears of a removed or disabled user (every connection of theirs closes) and of
 * a role change (the connections to servers the new role no longer reaches close). Requests decide
 * access from the account as it now is in any case.
 */
export function applyAccountChanges(deps: {
  kv: Pick<Kv, 'subscribe'>;
  identity: Pick<IdentityService, 'forget'>;
  closeConnections: (userId: string, change: 'removed' | 'disabled' | 'role') => Promise<void>;
  logger: Logger;
}): Promise<KvUnsubscribe> {
  return watchUserChanges(deps.kv, async ({ userId, change }) => {
    deps.identity.forget(userId);
    if (change !== 'removed' && change !== 'disabled' && change !== 'role') return;
    try {
      await deps.closeConnections(userId, change);
    } catch (err) {
      deps.logger.warn({ err, change }, 'could not close the connections of a changed account');
    }
  });
}
