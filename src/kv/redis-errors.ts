import { ReplyError } from 'ioredis';
import { HubError } from '../errors/index.js';
import { kvUnavailable } from './errors.js';

/**
 * Error replies (by their first word, Redis's error code) with which a Redis that is up says it
 * cannot serve right now, whatever the command: the hub's request is fine and may be retried, so
 * they mean "Redis is away" (503), not a fault of the hub.
 * - CLUSTERDOWN: a Cluster slot has no live master (or the cluster is failing).
 * - TRYAGAIN: a multi-key command during a slot migration.
 * - MOVED, ASK: a redirection ioredis gave up following (a slot map in flux).
 * - LOADING: the server is still loading its dataset after a restart.
 * - MASTERDOWN: a replica lost its master and does not serve stale data.
 * - READONLY: the node is a replica now (a master demoted by a failover).
 * - NOREPLICAS: fewer replicas than `min-replicas-to-write` are in reach.
 * - BUSY: a script runs past its time limit and blocks the server.
 * - MISCONF: the server refuses writes because it cannot persist (a disk problem on its side).
 * Anything else (a wrong type, a refused password, a script bug) stays Redis's own refusal.
 */
const UNAVAILABLE_REPLIES: ReadonlySet<string> = new Set([
  'CLUSTERDOWN',
  'TRYAGAIN',
  'MOVED',
  'ASK',
  'LOADING',
  'MASTERDOWN',
  'READONLY',
  'NOREPLICAS',
  'BUSY',
  'MISCONF',
]);

/**
 * A command's failure as callers see it: the hub's errors and Redis's own refusals (a
 * `ReplyError` such as a wrong type) stay as they are; a reply saying Redis cannot serve now, and
 * anything else (a dropped connection, a timeout, ioredis giving up on a Cluster), means Redis
 * could not be reached in time: HUB_ERR_KV_UNAVAILABLE.
 */
export function asKvError(error: unknown): unknown {
  if (error instanceof HubError) return error;
  // ioredis types ReplyError as `any`; its instances are Errors whose message starts with the code.
  if (error instanceof ReplyError && !UNAVAILABLE_REPLIES.has(replyCode(error as Error))) return error;
  return kvUnavailable(error);
}

function replyCode(error: Error): string {
  return error.message.split(' ', 1)[0] ?? '';
}
