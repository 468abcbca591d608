import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  RootsListChangedNotificationSchema,
  type ClientCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import type { ConnectionPool } from '../connections/index.js';
import { HubError } from '../errors/index.js';
import type { Logger } from '../observability/index.js';
import type { RegisteredServer } from '../registry/index.js';
import type { CallerConnection, SessionCapReached, UpstreamService } from '../upstreams/index.js';
import { sessionChannel } from './downstream-relay.js';

/**
 * What a session-bound connection declares to its upstream: the client's own sampling, elicitation
 * and roots, as it declared them (the hub relays nothing else). An upstream offers what this client
 * can do, as if it were connected directly.
 */
function relayedCapabilities(client: ClientCapabilities): ClientCapabilities {
  return {
    ...(client.sampling ? { sampling: client.sampling } : {}),
    ...(client.elicitation ? { elicitation: client.elicitation } : {}),
    ...(client.roots ? { roots: client.roots } : {}),
  };
}

/**
 * True when the session's server→client requests to this server could not be routed on a shared
 * connection. stdio, SSE and websocket carry nothing that ties a request to the call it belongs
 * to; streamable HTTP does (the call's own response stream) but not for requests outside any call,
 * such as the roots/list a server sends when its session starts.
 */
export function needsOwnConnection(
  server: RegisteredServer,
  client: ClientCapabilities | undefined,
): boolean {
  if (!client) return false;
  if (server.config.type === 'streamable-http') return client.roots !== undefined;
  return client.sampling !== undefined || client.elicitation !== undefined || client.roots !== undefined;
}

/**
 * The upstream connections of one downstream MCP session whose client takes sampling, elicitation
 * or roots requests. For each server that needs it ({@link needsOwnConnection}) the session gets a
 * connection of its own, opened at first use with the client's capabilities: the upstream's
 * requests (roots/list at its start included) reach this session's client and no other, and the
 * client's `roots/list_changed` reaches the upstream. Other sessions and other servers keep sharing
 * the pooled connections. Access is still checked by every request before it gets here; the
 * connections close with the session. Past `mcpSettings.maxSessionConnections` (or its hub-wide
 * total) the session shares the pooled connection, as a client declaring none of these would,
 * until a slot frees.
 */
export class SessionUpstreams {
  /** The service this session's handlers use: relay connections go through {@link connect}. */
  readonly upstreams: UpstreamService;
  private readonly keys = new Set<string>();
  /** The key of this session's own connection to each server that has one. */
  private readonly ownKeys = new Map<string, string>();
  /** Servers this session was already logged as capped for: once each, not once per call. */
  private readonly capped = new Set<string>();
  private server: Server | undefined;
  private unsubscribe: () => void = () => undefined;
  private closed = false;

  constructor(
    private readonly base: UpstreamService,
    private readonly pool: Pick<
      ConnectionPool,
      'peek' | 'disconnect' | 'onToolsChanged' | 'onResourcesChanged' | 'onPromptsChanged'
    >,
    private readonly sessionId: string,
    private readonly logger: Logger,
  ) {
    // UpstreamService is a record of closures (no `this`), so a copy with one function replaced works.
    this.upstreams = {
      ...base,
      connect: (caller, target, profile) =>
        profile === 'relay' ? this.connect(caller, target) : base.connect(caller, target, profile),
      keyFor: (caller, target, profile) =>
        (profile === 'relay' && this.ownKey(target)) || base.keyFor(caller, target, profile),
    };
  }

  /** The session's SDK server, made with {@link upstreams}: whose client is asked, and heard. */
  attach(server: Server): void {
    this.server = server;
    server.setNotificationHandler(RootsListChangedNotificationSchema, () => this.rootsChanged());
    // The shared connections' list changes reach every session of their users; these, this one only.
    const offTools = this.pool.onToolsChanged((key) => {
      if (this.keys.has(key)) server.sendToolListChanged().catch(() => undefined);
    });
    const offResources = this.pool.onResourcesChanged((key, updatedUri) => {
      if (updatedUri === undefined && this.keys.has(key))
        server.sendResourceListChanged().catch(() => undefined);
    });
    const offPrompts = this.pool.onPromptsChanged((key) => {
      if (this.keys.has(key)) server.sendPromptListChanged().catch(() => undefined);
    });
    this.unsubscribe = () => {
      offTools();
      offResources();
      offPrompts();
    };
  }

  /** The caller's relay connection to `target` for this session: its own when needed, else the shared one. */
  async connect(
    caller: Parameters<UpstreamService['connect']>[0],
    target: RegisteredServer,
  ): Promise<CallerConnection> {
    const server = this.server;
    const client = server?.getClientCapabilities();
    if (this.closed || !server || !needsOwnConnection(target, client))
      return this.base.connect(caller, target, 'relay');
    const opened = await this.base.connectBound(caller, target, {
      sessionId: this.sessionId,
      capabilities: relayedCapabilities(client ?? {}),
      channel: sessionChannel(server),
    });
    if ('capReached' in opened) {
      this.noteCapped(caller.userId, target.name, opened);
      return this.base.connect(caller, target, 'relay');
    }
    if (this.closed) {
      // The session ended while this connected: nobody is left to answer its upstream.
      await this.pool.disconnect(opened.key);
      throw new HubError('HUB_ERR_UPSTREAM_UNAVAILABLE', { message: 'MCP session closed' });
    }
    this.keys.add(opened.key);
    this.ownKeys.set(target.name, opened.key);
    return opened;
  }

  /**
   * The key of this session's own live connection to `target`, if it has one: its tools are that
   * connection's (a server may change them for this session alone), not the shared connection's.
   */
  private ownKey(target: RegisteredServer): string | undefined {
    const key = this.ownKeys.get(target.name);
    return key !== undefined && this.keys.has(key) && this.pool.peek(key) !== undefined ? key : undefined;
  }

  /**
   * The shared connection refuses the server's requests that no call claims and answers roots/list
   * with no roots, so the operator should see why this session's client was not asked.
   */
  private noteCapped(userId: string, serverName: string, cap: SessionCapReached): void {
    if (this.capped.has(serverName)) return;
    this.capped.add(serverName);
    this.logger.warn(
      { userId, serverName, sessionId: this.sessionId, cap: cap.capReached, limit: cap.limit },
      'session connection cap reached; this session shares the pooled connection',
    );
  }

  /** The client's roots changed: every live connection of this session tells its upstream. */
  rootsChanged(): void {
    for (const key of this.keys) {
      this.pool
        .peek(key)
        ?.sendRootsListChanged()
        .catch((err: unknown) => this.logger.debug({ err }, 'could not pass roots/list_changed on'));
    }
  }

  /** Closes every connection of this session (a stdio child exits); later connects share again. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    const keys = [...this.keys];
    this.keys.clear();
    this.ownKeys.clear();
    await Promise.allSettled(keys.map((key) => this.pool.disconnect(key)));
  }
}
