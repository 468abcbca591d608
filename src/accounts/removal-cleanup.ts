import type { Logger } from '../observability/index.js';

/** Work done before a user's rows are deleted; never throws, and ends within its time bound. */
export type BeforeRemoval = (userId: string) => Promise<void>;

/**
 * What removing a user must undo at the authorization servers, given as plain callbacks so this
 * folder knows nothing of how OAuth is done.
 */
export interface RemovalCleanupDeps {
  /** The servers the user holds OAuth tokens for (their own rows, never the shared ones). */
  tokenServers(userId: string): Promise<string[]>;
  /** Every server a flow of the user's may be pending for. */
  flowServers(userId: string): Promise<string[]>;
  /** RFC 7009 revocation of the user's tokens for the server at its authorization server. */
  revoke(userId: string, serverName: string): Promise<void>;
  /** Cancels the user's pending flow for the server; false when none was pending. */
  cancelFlow(userId: string, serverName: string): Promise<boolean>;
  logger: Logger;
  /** The longest a removal waits for all of this (default {@link REMOVAL_CLEANUP_TIMEOUT_MS}). */
  timeoutMs?: number | undefined;
}

/** A slow or unreachable authorization server must not hold an administrator's removal longer. */
export const REMOVAL_CLEANUP_TIMEOUT_MS = 10_000;

const errorName = (error: unknown): string | undefined => (error instanceof Error ? error.name : undefined);

/**
 * Builds the hook the accounts service runs before deleting a user: pending flows are cancelled
 * (so no callback lands tokens for a deleted account) and every token set is revoked, all at once.
 * Failures are logged with the user id, server name and error name only, and never stop the
 * removal: the rows are deleted afterwards whatever the authorization servers answered.
 */
export function removalCleanup(deps: RemovalCleanupDeps): BeforeRemoval {
  const { logger } = deps;
  const timeoutMs = deps.timeoutMs ?? REMOVAL_CLEANUP_TIMEOUT_MS;

  async function cleanup(userId: string): Promise<void> {
    const [flowServers, tokenServers] = await Promise.all([
      deps.flowServers(userId),
      deps.tokenServers(userId),
    ]);
    // Flows first: a callback completing now would save tokens the revocation pass never sees.
    const cancels = [...new Set(flowServers)].map(async (serverName) => {
      try {
        await deps.cancelFlow(userId, serverName);
      } catch (error) {
        logger.warn({ userId, serverName, errorName: errorName(error) }, 'could not cancel an OAuth flow');
      }
    });
    await Promise.all(cancels);
    const revocations = [...new Set(tokenServers)].map(async (serverName) => {
      try {
        await deps.revoke(userId, serverName);
      } catch (error) {
        logger.warn(
          { userId, serverName, errorName: errorName(error) },
          'could not revoke OAuth tokens of a removed user',
        );
      }
    });
    await Promise.all(revocations);
  }

  return async (userId) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    try {
      const done = cleanup(userId).then(
        () => 'done' as const,
        (error: unknown) => {
          logger.warn({ userId, errorName: errorName(error) }, 'OAuth clean-up of a removed user failed');
          return 'done' as const;
        },
      );
      if ((await Promise.race([done, late])) === 'late') {
        logger.warn(
          { userId, timeoutMs },
          'OAuth clean-up of a removed user is still running: removing the account without waiting',
        );
      }
    } finally {
      clearTimeout(timer);
    }
  };
}
