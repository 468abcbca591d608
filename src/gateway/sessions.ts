import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Clock } from '../core/index.js';
import type { ListChangedGate } from './list-changed-gate.js';
import type { ServerRef } from './server-ref.js';
import type { SessionTransport } from './session-transport.js';

/**
 * This instance's copy of one downstream MCP session: its own SDK server and transport, owned by
 * one user. The session itself is its record in the KV (session-store.ts); any instance builds a
 * copy of it on demand, and a copy dropped here (idle, or past the per-user cap) is built again
 * when the session is used here next.
 */
export interface GatewaySession {
  id: string;
  userId: string;
  /**
   * `null` for the aggregated endpoint, else the server of a per-server endpoint: the one it was
   * opened for, not a later server that took the same name.
   */
  endpoint: ServerRef | null;
  server: Server;
  transport: SessionTransport;
  /** The session's list_changed notifications, coalesced; they reach its client on this copy's GET stream. */
  gate: ListChangedGate;
  /** Sends `notifications/resources/updated` for `uri` on this copy's GET stream, if it holds one. */
  deliverUpdated: (uri: string) => void;
  lastActive: number;
}

export function sameEndpoint(a: ServerRef | null, b: ServerRef | null): boolean {
  if (a === null || b === null) return a === b;
  return a.name === b.name && a.source === b.source && a.ownerId === b.ownerId;
}

/** Limits on downstream sessions. */
export interface SessionLimits {
  /** A copy unused this long here is dropped (the session's record expires on its own clock). */
  idleMs: number;
  /** Copies of one user's sessions this instance holds at once; the least recently used is dropped beyond it. */
  perUser: number;
  /** Copies this instance holds at once, whoever owns them; the least recently used is dropped beyond it. */
  total: number;
}

/**
 * The copies of downstream sessions this instance holds. A session id is random and bound to the
 * user who created it and to its endpoint: another user presenting it finds nothing (AZ-07).
 * Both maps keep their entries in order of last use (a use moves one to the end), so the least
 * recently used copy, of everyone's or of one user's, is the first.
 */
export class GatewaySessions {
  private readonly sessions = new Map<string, GatewaySession>();
  private readonly byUser = new Map<string, Map<string, GatewaySession>>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly clock: Clock,
    private readonly limits: SessionLimits,
  ) {
    this.sweep = setInterval(() => void this.closeIdle(), Math.min(60_000, limits.idleMs));
    this.sweep.unref();
  }

  /** The copy, if this instance holds it and it belongs to this user and endpoint; refreshes its idle clock. */
  find(id: string, userId: string, endpoint: ServerRef | null): GatewaySession | undefined {
    const session = this.sessions.get(id);
    if (!session || session.userId !== userId || !sameEndpoint(session.endpoint, endpoint)) return undefined;
    session.lastActive = this.clock.now();
    this.index(session);
    return session;
  }

  /** Holds a new copy; past a limit, the least recently used copy (the user's, then anyone's) is closed. */
  add(session: GatewaySession): void {
    const mine = this.byUser.get(session.userId);
    if (mine !== undefined && mine.size >= this.limits.perUser && !mine.has(session.id))
      this.evict(mine.values().next().value);
    if (this.sessions.size >= this.limits.total && !this.sessions.has(session.id))
      this.evict(this.sessions.values().next().value);
    this.index(session);
  }

  /** Sessions of one user (to tell them their tool list changed). */
  ofUser(userId: string): GatewaySession[] {
    return [...(this.byUser.get(userId)?.values() ?? [])];
  }

  /** How many copies this instance holds. */
  get size(): number {
    return this.sessions.size;
  }

  all(): GatewaySession[] {
    return [...this.sessions.values()];
  }

  /** This instance's copy of a session, whoever it belongs to. */
  get(id: string): GatewaySession | undefined {
    return this.sessions.get(id);
  }

  forget(id: string): void {
    const session = this.sessions.get(id);
    if (session !== undefined) this.unindex(session);
  }

  async close(id: string): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) return;
    this.unindex(session);
    try {
      await session.server.close();
    } catch {
      // closing a transport whose client already left
    }
  }

  /**
   * Ends every session's standalone GET stream (shutdown): it never ends by itself, so it would
   * hold the HTTP server open. The sessions stay, so calls in flight can still answer on their own
   * streams; a client that comes back for a new GET stream finds a closing hub (503).
   */
  endStandaloneStreams(): void {
    for (const session of this.sessions.values()) session.transport.closeStandaloneSSEStream();
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweep);
    await Promise.all([...this.sessions.keys()].map((id) => this.close(id)));
  }

  private async closeIdle(): Promise<void> {
    const cutoff = this.clock.now() - this.limits.idleMs;
    await Promise.all(
      [...this.sessions.values()].filter((s) => s.lastActive < cutoff).map((s) => this.close(s.id)),
    );
  }

  /** Puts the copy at the end of both orders (most recently used). */
  private index(session: GatewaySession): void {
    this.sessions.delete(session.id);
    this.sessions.set(session.id, session);
    let mine = this.byUser.get(session.userId);
    if (mine === undefined) this.byUser.set(session.userId, (mine = new Map<string, GatewaySession>()));
    mine.delete(session.id);
    mine.set(session.id, session);
  }

  private unindex(session: GatewaySession): void {
    this.sessions.delete(session.id);
    const mine = this.byUser.get(session.userId);
    mine?.delete(session.id);
    if (mine?.size === 0) this.byUser.delete(session.userId);
  }

  private evict(session: GatewaySession | undefined): void {
    if (session !== undefined) void this.close(session.id); // unindexed at once; the close itself never rejects
  }
}
