import type { ListKind } from './list-changed-gate.js';

/**
 * The KV channel on which instances tell each other about downstream sessions: a session ended,
 * or something must reach its client on the stream another instance may hold (its GET stream).
 */
export const SESSION_EVENTS_CHANNEL = 'mcp-sessions:events';

/** One announcement; `from` is the instance that sent it (which has acted on it already). */
export type SessionEvent =
  | { from: string; type: 'ended'; id: string }
  /** A list of the session changed: its client is told (`notifications/<kind>/list_changed`). */
  | { from: string; type: 'changed'; id: string; kind: ListKind }
  /** The session's client listed `kind`: its next change is worth telling again. */
  | { from: string; type: 'listed'; id: string; kind: ListKind }
  /** A resource the session subscribed to changed (`uri` as the client named it). */
  | { from: string; type: 'updated'; id: string; uri: string }
  /** The client's answer to a request the copy on instance `to` sent it (sampling, elicitation, roots). */
  | { from: string; type: 'response'; id: string; to: string; message: Record<string, unknown> }
  /** The client ended its subscription to `uri`: copies that subscribed it again on rebuild end theirs. */
  | { from: string; type: 'unsubscribed'; id: string; uri: string }
  /** An upstream's lists changed for these users (null: everyone) on `serverName`. */
  | {
      from: string;
      type: 'announce';
      users: string[] | null;
      serverName: string;
      lists: ListKind | 'all';
    };

/** `Omit` over each member of a union. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const KINDS: ReadonlySet<string> = new Set<ListKind>(['tools', 'resources', 'prompts']);

const isKind = (value: unknown): value is ListKind => typeof value === 'string' && KINDS.has(value);
const isString = (value: unknown): value is string => typeof value === 'string';

/** The event in a channel message, or null when it is not a well-formed one. */
export function parseSessionEvent(message: string): SessionEvent | null {
  let value: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(message);
    if (typeof parsed !== 'object' || parsed === null) return null;
    value = parsed as Record<string, unknown>;
  } catch {
    return null;
  }
  const { from, type, id } = value;
  if (!isString(from)) return null;
  if (type === 'announce') {
    const { users, serverName, lists } = value;
    const usersOk = users === null || (Array.isArray(users) && users.every(isString));
    if (!usersOk || !isString(serverName) || !(lists === 'all' || isKind(lists))) return null;
    return { from, type, users, serverName, lists };
  }
  if (!isString(id)) return null;
  if (type === 'ended') return { from, type, id };
  const { to, message: answer } = value;
  if (type === 'response' && isString(to) && typeof answer === 'object' && answer !== null)
    return { from, type, id, to, message: answer as Record<string, unknown> }; // an object, checked above
  if ((type === 'changed' || type === 'listed') && isKind(value.kind))
    return { from, type, id, kind: value.kind };
  if ((type === 'updated' || type === 'unsubscribed') && isString(value.uri))
    return { from, type, id, uri: value.uri };
  return null;
}
