import { randomUUID } from 'node:crypto';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import type { ConnectionPool } from '../connections/index.js';
import type { Clock } from '../core/index.js';
import { HubError } from '../errors/index.js';
import type { RegisteredServer } from '../registry/index.js';
import { createAggregateServer, type AggregateDeps } from './aggregate-server.js';
import { LIST_METHODS, gateListChanged, type ListKind } from './list-changed-gate.js';
import { createProxyServer } from './proxy-server.js';
import type { ResourceSubscriptions } from './resource-subscriptions.js';
import { refOf } from './server-ref.js';
import type { DistributiveOmit, SessionEvent } from './session-events.js';
import { routeAnswers } from './session-answers.js';
import { QUIET_POST_HEADERS_MS, SSE_KEEP_ALIVE_MS, replayMessage } from './session-http.js';
import type { SessionRecord, SessionStore } from './session-store.js';
import { SessionTransport } from './session-transport.js';
import { SessionUpstreams } from './session-upstreams.js';
import type { GatewaySession, GatewaySessions } from './sessions.js';

/** What building a session's copy needs. */
export interface SessionBuilderDeps {
  gateway: AggregateDeps & { pool: ConnectionPool; clock: Clock };
  subscriptions: ResourceSubscriptions;
  sessions: GatewaySessions;
  store: SessionStore;
  /** Tells the other instances (this one has acted already). */
  publish: (event: DistributiveOmit<SessionEvent, 'from'>) => void;
  /** This instance's id in the events it publishes. */
  instance: string;
}

/** Ids of the requests a rebuild replays; their state is in the record already. */
const REPLAY_ID = 'switchboard-replay-';
/** A resource's updates closer together than this reach a client once (they say "read it again"). */
const UPDATED_WINDOW_MS = 1_000;

const SENDERS: Record<ListKind, 'sendToolListChanged' | 'sendResourceListChanged' | 'sendPromptListChanged'> =
  {
    tools: 'sendToolListChanged',
    resources: 'sendResourceListChanged',
    prompts: 'sendPromptListChanged',
  };

/**
 * Builds this instance's copies of downstream sessions: for a client's `initialize` (a new session,
 * whose record it writes), or from a session's record (one another instance created), by replaying
 * the stored `initialize` into a fresh transport, then the client's log level and subscriptions.
 */
export class SessionBuilder {
  constructor(private readonly deps: SessionBuilderDeps) {}

  /** A new session; its record is written when the transport accepts the `initialize`. */
  open(caller: Identity, server: RegisteredServer | null, initialize: Record<string, unknown>) {
    const record: SessionRecord = {
      userId: caller.userId,
      endpoint: server === null ? null : refOf(server),
      initialize,
      logLevel: null,
      subscriptions: [],
    };
    return this.build(randomUUID(), caller, server, async (copy) => {
      this.deps.sessions.add(copy);
      // Without the KV the session still works here; other instances cannot rebuild it until the
      // next expiry write (SessionStore.touch) stores it.
      await this.deps.store.save(copy.id, record).catch((err: unknown) => {
        this.deps.gateway.logger.warn({ err }, 'could not store a new MCP session; it is served here only');
      });
    });
  }

  /** A copy of a session another instance created, in the state its record gives. */
  async rebuild(
    id: string,
    record: SessionRecord,
    request: { caller: Identity; server: RegisteredServer | null; authInfo: AuthInfo | undefined },
  ): Promise<GatewaySession> {
    const copy = await this.build(id, request.caller, request.server, (built) =>
      this.deps.sessions.add(built),
    );
    const context = { authInfo: request.authInfo };
    const replay = async (message: JSONRPCMessage, withSession = true) => {
      const answer = await replayMessage(copy.transport, message, {
        ...context,
        ...(withSession ? { sessionId: id } : {}),
      });
      if (answer.status >= 300)
        throw new HubError('HUB_ERR_INTERNAL', { message: 'MCP session rebuild failed' });
    };
    try {
      const init = { jsonrpc: '2.0' as const, id: `${REPLAY_ID}init`, method: 'initialize' };
      await replay({ ...init, params: record.initialize }, false);
      await replay({ jsonrpc: '2.0', method: 'notifications/initialized' });
      if (record.logLevel !== null) {
        const params = { level: record.logLevel };
        await replay({ jsonrpc: '2.0', id: `${REPLAY_ID}level`, method: 'logging/setLevel', params });
      }
      for (const [i, uri] of record.subscriptions.entries()) {
        const message = {
          jsonrpc: '2.0' as const,
          id: `${REPLAY_ID}sub-${i}`,
          method: 'resources/subscribe',
        };
        // A subscription the upstream refuses now is dropped, as a live session would see it fail.
        await replayMessage(copy.transport, { ...message, params: { uri } }, { ...context, sessionId: id });
      }
    } catch (err) {
      await copy.transport.close();
      throw err;
    }
    return copy;
  }

  /** Ends this instance's copy of a client's `resources/unsubscribe` told by another instance. */
  async unsubscribed(copy: GatewaySession, uri: string): Promise<void> {
    const message = { jsonrpc: '2.0' as const, id: `${REPLAY_ID}unsub`, method: 'resources/unsubscribe' };
    await replayMessage(copy.transport, { ...message, params: { uri } }, { sessionId: copy.id }).catch(
      () => undefined,
    );
  }

  private async build(
    id: string,
    caller: Identity,
    server: RegisteredServer | null,
    initialized: (copy: GatewaySession) => Promise<void> | void,
  ): Promise<GatewaySession> {
    const { gateway, subscriptions, sessions, store } = this.deps;
    const own = new SessionUpstreams(gateway.upstreams, gateway.pool, id, gateway.logger);
    const relay = (who: Identity, on: RegisteredServer) => own.upstreams.connect(who, on, 'relay');
    const mcpServer =
      server === null
        ? createAggregateServer(
            { ...gateway, upstreams: own.upstreams, sharedUpstreams: gateway.upstreams },
            subscriptions,
          )
        : createProxyServer(
            relay,
            (await gateway.upstreams.connect(caller, server, 'relay')).connection,
            subscriptions,
            gateway,
          );
    own.attach(mcpServer);
    const holder: { copy?: GatewaySession } = {};
    const transport = new SessionTransport({
      sessionId: id,
      quietMs: QUIET_POST_HEADERS_MS,
      keepAliveMs: SSE_KEEP_ALIVE_MS,
      onInitialized: async () => {
        if (holder.copy) await initialized(holder.copy);
      },
      // DELETE: the session ends everywhere, not only here.
      onEnded: async () => {
        await store.remove(id);
        this.deps.publish({ type: 'ended', id });
      },
    });
    transport.onclose = () => {
      if (holder.copy && sessions.get(id) === holder.copy) sessions.forget(id);
      store.forgetLocal(id);
      void own.close(); // never rejects
    };
    await mcpServer.connect(transport);
    const gate = gateListChanged(mcpServer, transport);
    routeAnswers(transport, this.deps.instance, (to, message) =>
      this.deps.publish({ type: 'response', id, to, message: message }),
    );
    const copy: GatewaySession = {
      id,
      userId: caller.userId,
      endpoint: server === null ? null : refOf(server),
      server: mcpServer,
      transport,
      gate,
      deliverUpdated: this.updatesOf(mcpServer),
      lastActive: gateway.clock.now(),
    };
    holder.copy = copy;
    this.shareNotifications(copy);
    this.recordState(copy);
    return copy;
  }

  /** Sends one resource's updates once per window, whichever instance noticed them first. */
  private updatesOf(server: GatewaySession['server']): (uri: string) => void {
    const send = server.sendResourceUpdated.bind(server);
    const sent = new Map<string, number>();
    return (uri) => {
      const now = this.deps.gateway.clock.now();
      for (const [seen, at] of sent) if (now - at >= UPDATED_WINDOW_MS) sent.delete(seen);
      if (sent.has(uri)) return;
      sent.set(uri, now);
      send({ uri }).catch(() => undefined); // a client that already left
    };
  }

  /**
   * What the session's handlers send its client outside any call (a list changed, a resource
   * updated) goes out on this copy's GET stream, if it holds it, and to the other instances, one
   * of which may hold it.
   */
  private shareNotifications(copy: GatewaySession): void {
    const { server, gate, id } = copy;
    for (const kind of Object.keys(SENDERS) as ListKind[]) {
      server[SENDERS[kind]] = async () => {
        gate.changed(kind);
        this.deps.publish({ type: 'changed', id, kind });
      };
    }
    server.sendResourceUpdated = async (params) => {
      copy.deliverUpdated(params.uri);
      this.deps.publish({ type: 'updated', id, uri: params.uri });
    };
  }

  /** Keeps the record's log level and subscriptions as the client sets them, on whichever instance. */
  private recordState(copy: GatewaySession): void {
    const { transport, id } = copy;
    const { store, publish } = this.deps;
    const onmessage = transport.onmessage;
    transport.onmessage = (message, extra) => {
      const replayed = 'id' in message && String(message.id).startsWith(REPLAY_ID);
      if ('method' in message && 'id' in message && !replayed) {
        const params = (message.params ?? {}) as Record<string, unknown>; // a JSON-RPC params object
        const kind = LIST_METHODS[message.method];
        if (kind !== undefined) publish({ type: 'listed', id, kind });
        const uri = typeof params.uri === 'string' ? params.uri : undefined;
        const change = stateChange(message.method, params.level, uri);
        if (change) void store.update(id, change).catch(() => undefined); // the KV is down: kept here only
        if (message.method === 'resources/unsubscribe' && uri !== undefined)
          publish({ type: 'unsubscribed', id, uri });
      }
      onmessage?.(message, extra);
    };
  }
}

/** How a request changes the stored state of its session, if it does. */
function stateChange(
  method: string,
  level: unknown,
  uri: string | undefined,
): ((record: SessionRecord) => void) | undefined {
  if (method === 'logging/setLevel' && typeof level === 'string')
    return (record) => {
      record.logLevel = level;
    };
  if (method === 'resources/subscribe' && uri !== undefined)
    return (record) => {
      if (!record.subscriptions.includes(uri)) record.subscriptions.push(uri);
    };
  if (method === 'resources/unsubscribe' && uri !== undefined)
    return (record) => {
      record.subscriptions = record.subscriptions.filter((s) => s !== uri);
    };
  return undefined;
}
