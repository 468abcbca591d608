import type { Logger } from '../observability/index.js';
import { parseConnectionKey, type ConnectionProfile } from '../upstreams/index.js';

/**
 * Opens one user's connection of one profile to the server as a request of theirs would (the
 * registry's current config, the upstream service's connect, which lists the tools into the cache);
 * rejects when it cannot.
 */
export type Reopen = (serverName: string, userId: string, profile: ConnectionProfile) => Promise<void>;

/** What {@link reopenConnections} needs. */
export interface ReopenDeps {
  reopen: Reopen;
  /** True when the user may no longer see the server (read from the database, as a request would). */
  lostAccess: (serverName: string, userId: string) => Promise<boolean>;
  logger: Logger;
}

/** `lostAccess` for one server, asked once per user however many of their keys are looked at. */
export function accessVerdicts(
  lostAccess: ReopenDeps['lostAccess'],
  serverName: string,
): (userId: string) => Promise<boolean> {
  const verdicts = new Map<string, Promise<boolean>>();
  return (userId) => {
    let verdict = verdicts.get(userId);
    if (verdict === undefined) {
      verdict = lostAccess(serverName, userId);
      verdicts.set(userId, verdict);
    }
    return verdict;
  };
}

/** One connection to open again. */
interface Target {
  userId: string;
  profile: ConnectionProfile;
}

/**
 * Reopened at once per edit on one instance: a server shared with many users must not open all
 * their connections in one burst.
 */
const CONCURRENCY = 4;

/**
 * The users and profiles of the shared user-level keys among `closed`. A session's own connection
 * (a session key) is left to its session, which alone knows its client's capabilities.
 */
export function reopenTargets(closed: readonly string[], serverName: string): Target[] {
  const targets: Target[] = [];
  for (const key of new Set(closed)) {
    const parts = parseConnectionKey(key);
    if (parts?.serverName !== serverName || parts.userId === null || parts.sessionId !== null) continue;
    targets.push({ userId: parts.userId, profile: parts.profile });
  }
  return targets;
}

/** Runs the tasks, at most `limit` at a time, and resolves with what they threw. */
async function settleLimited(tasks: readonly (() => Promise<void>)[], limit: number): Promise<unknown[]> {
  const queue = [...tasks];
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    for (let task = queue.shift(); task !== undefined; task = queue.shift()) {
      try {
        await task();
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
  return errors;
}

/**
 * After an edit closed the connections in `closed` (built from the old config), opens again those
 * whose users still see the server, so their tool lists are filled from the new config without
 * waiting for their next call. A user who lost the server gets nothing. Never rejects: failures are
 * one warn line for the lot (a server shared with many users fails for all of them at once).
 */
export async function reopenConnections(
  deps: ReopenDeps,
  serverName: string,
  closed: readonly string[],
): Promise<void> {
  const lost = accessVerdicts(deps.lostAccess, serverName);
  const targets = reopenTargets(closed, serverName);
  const tasks = targets.map(({ userId, profile }) => async () => {
    if (!(await lost(userId))) await deps.reopen(serverName, userId, profile);
  });
  const errors = await settleLimited(tasks, CONCURRENCY);
  if (errors.length > 0) {
    deps.logger.warn(
      { err: errors[0], server: serverName, failed: errors.length, of: targets.length },
      'could not reopen connections after the server was edited',
    );
  }
}
