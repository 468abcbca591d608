import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Clock } from '../core/index.js';
import type { ServerRef } from './server-ref.js';

/** One downstream MCP session: its own SDK server and transport, owned by one user. */
export interface GatewaySession {
  id: string;
  userId: string;
  /**
   * `null` for the aggregated endpoint, else the server of a per-server endpoint: the one it was
   * opened for, not a later server that took the same name.
   */
  endpoint: ServerRef | null;
  server: Server;
  transport: StreamableHTTPServerTransport;
  lastActive: number;
}

function sameEndpoint(a: ServerRef | null, b: ServerRef | null): boolean {
  if (a === null || b === null) return a === b;
  return a.name === b.name && a.source === b.source && a.ownerId === b.ownerId;
}

/** Limits on downstream sessions. */
export interface SessionLimits {
  /** A session unused this long is closed. */
  idleMs: number;
  /** Sessions one user may hold at once; the oldest is closed beyond it. */
  perUser: number;
}

/**
 * The live downstream sessions of this instance. A session id is random and bound to the user who
 * created it and to its endpoint: another user presenting it finds nothing (AZ-07).
 */
export class GatewaySessions {
  private readonly sessions = new Map<string, GatewaySession>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly clock: Clock,
    private readonly limits: SessionLimits,
  ) {
    this.sweep = setInterval(() => void this.closeIdle(), Math.min(60_000, limits.idleMs));
    this.sweep.unref();
  }

  /** The session, if it exists and belongs to this user and endpoint; refreshes its idle clock. */
  find(id: string, userId: string, endpoint: ServerRef | null): GatewaySession | undefined {
    const session = this.sessions.get(id);
    if (!session || session.userId !== userId || !sameEndpoint(session.endpoint, endpoint)) return undefined;
    session.lastActive = this.clock.now();
    return session;
  }

  add(session: GatewaySession): void {
    const mine = [...this.sessions.values()].filter((s) => s.userId === session.userId);
    if (mine.length >= this.limits.perUser) {
      const oldest = mine.reduce((a, b) => (a.lastActive <= b.lastActive ? a : b));
      void this.close(oldest.id);
    }
    this.sessions.set(session.id, session);
  }

  /** Sessions of one user (to tell them their tool list changed). */
  ofUser(userId: string): GatewaySession[] {
    return [...this.sessions.values()].filter((s) => s.userId === userId);
  }

  all(): GatewaySession[] {
    return [...this.sessions.values()];
  }

  forget(id: string): void {
    this.sessions.delete(id);
  }

  async close(id: string): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
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
}
