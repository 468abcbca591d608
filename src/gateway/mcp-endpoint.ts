import { randomUUID } from 'node:crypto';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { watchUserChanges } from '../accounts/index.js';
import type { Identity, IdentityService } from '../auth/index.js';
import type { ConnectionPool } from '../connections/index.js';
import { type Clock, isInitializeMessage } from '../core/index.js';
import { checkServerName } from '../config/index.js';
import { HubError, isHubError } from '../errors/index.js';
import { bearerToken, toHubError } from '../http/index.js';
import type { Kv } from '../kv/index.js';
import type { RegisteredServer } from '../registry/index.js';
import { CATALOG_CHANNEL, parseCatalogChange } from '../servers/index.js';
import { parseConnectionKey } from '../upstreams/index.js';
import type { AggregateDeps } from './aggregate-server.js';
import type { ListKind } from './list-changed-gate.js';
import { createOriginCheck } from './origin-check.js';
import { attachRequestContext, type AuthenticatedRequest } from './request-context.js';
import { ResourceSubscriptions } from './resource-subscriptions.js';
import { refOf, type ServerRef } from './server-ref.js';
import { SessionBuilder } from './session-builder.js';
import { BackgroundSubscriptions } from './session-channels.js';
import {
  SESSION_EVENTS_CHANNEL,
  parseSessionEvent,
  type DistributiveOmit,
  type SessionEvent,
} from './session-events.js';
import { serveRequest } from './session-http.js';
import { SessionStore } from './session-store.js';
import { GatewaySessions, sameEndpoint, type GatewaySession } from './sessions.js';
import { refuseOverToolCallLimit } from './tool-call-limit.js';

/** What the MCP endpoints need. */
export interface GatewayOptions extends AggregateDeps {
  identity: IdentityService;
  pool: ConnectionPool;
  clock: Clock;
  publicUrl: string;
  /** The authorization servers named in the protected-resource metadata, the hub's own first. */
  authorizationServers: readonly string[];
  /**
   * Access tokens of the hub's own authorization server (opaque, bound to one resource); absent,
   * only bearer JWTs are accepted.
   */
  hubTokens?: HubTokenVerifier | undefined;
  /**
   * Where servers' catalog changes are announced, by any instance ({@link CATALOG_CHANNEL}), and
   * where downstream sessions live (session-store.ts) and tell each other about their clients.
   */
  kv: Pick<Kv, 'subscribe' | 'publish' | 'get' | 'set' | 'delete'>;
}

/** Checks an access token of the hub's own authorization server for one MCP endpoint. */
export interface HubTokenVerifier {
  /** The caller, or null unless the token is live and bound to a resource covering `resource`. */
  identityOf(token: string, resource: string): Promise<Identity | null>;
}

/** A session unused this long ends (its record expires); a copy unused this long on one instance is dropped there. */
const SESSION_IDLE_MS = 30 * 60_000;
/** How often one instance writes a session's expiry again while it uses it: not on every request. */
const SESSION_TOUCH_EVERY_MS = 60_000;
/**
 * Session copies one instance holds in memory, per user and in all: each is an SDK server with its
 * handlers and state, so the count is bounded whatever the number of users. A dropped copy is built
 * again from the session's record at its next request.
 */
const SESSION_COPIES = { perUser: 50, total: 5_000 };

const PRM_PATH = '/.well-known/oauth-protected-resource/mcp';
/** The scope the hub's authorization server issues for its MCP endpoints. */
const MCP_SCOPES = ['mcp'];

/** A JWT has three dot-separated parts; the hub's own access tokens are opaque and have none. */
function isJwt(token: string): boolean {
  return token.includes('.');
}

/** A JSON-RPC error response for failures before the SDK sees the request (no id is known yet). */
function rpcError(reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply
    .status(status)
    .type('application/json')
    .send({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/**
 * `ALL /mcp` (every tool the caller may use) and `ALL /mcp/servers/:serverName` (one upstream,
 * transparently), over streamable HTTP with a fresh SDK server and transport per session, plus
 * RFC 9728 metadata so clients can discover how to get a token.
 */
export const gatewayRoutes: FastifyPluginAsync<GatewayOptions> = async (app, options) => {
  const sessions = new GatewaySessions(options.clock, { idleMs: SESSION_IDLE_MS, ...SESSION_COPIES });
  const store = new SessionStore(options.kv, options.clock, SESSION_IDLE_MS, SESSION_TOUCH_EVERY_MS);
  const instance = randomUUID();
  const publish = (event: DistributiveOmit<SessionEvent, 'from'>): void => {
    options.kv
      .publish(SESSION_EVENTS_CHANNEL, JSON.stringify({ ...event, from: instance }))
      .catch((err: unknown) => app.log.warn({ err }, 'could not announce a session event'));
  };
  const checkOrigin = createOriginCheck({ publicUrl: options.publicUrl });
  const resourceMetadataUrl = `${options.publicUrl}${PRM_PATH}`;
  // Shutdown: the GET streams end first (they would hold the server open); in-flight calls drain.
  app.addHook('preClose', async () => sessions.endStandaloneStreams());
  app.addHook('onClose', async () => sessions.closeAll());

  const subscriptions = new ResourceSubscriptions(options.pool);
  const builder = new SessionBuilder({
    gateway: options,
    subscriptions,
    sessions,
    store,
    publish,
    instance,
  });
  /**
   * Tells the sessions of these users (null: everyone) that the server's tools, resources or prompts
   * may have changed (MCP `notifications/{tools,resources,prompts}/list_changed`), through each
   * session's list-changed gate. A session whose server has no such list drops the notification.
   */
  const announce = (
    userIds: readonly string[] | null,
    serverName: string,
    lists: ListKind | 'all' = 'all',
  ): void => {
    const targets = userIds === null ? sessions.all() : userIds.flatMap((u) => sessions.ofUser(u));
    const kinds: readonly ListKind[] = lists === 'all' ? ['tools', 'resources', 'prompts'] : [lists];
    for (const s of targets) {
      if (s.endpoint !== null && s.endpoint.name !== serverName) continue;
      for (const kind of kinds) s.gate.changed(kind);
    }
  };
  // An upstream list changed, or a connection (re)opened (all): the sessions of the key's users, on
  // every instance (the connection is this instance's; their GET streams may be anywhere).
  const notify = (key: string, lists: ListKind | 'all' = 'all'): void => {
    const parts = parseConnectionKey(key);
    // A connection of one session's own (session-upstreams.ts) concerns that session alone: it tells it.
    if (!parts || parts.sessionId !== null) return;
    const users = parts.userId === null ? null : [parts.userId];
    announce(users, parts.serverName, lists);
    publish({ type: 'announce', users, serverName: parts.serverName, lists });
  };
  const offTools = options.pool.onToolsChanged((key) => notify(key, 'tools'));
  const offResources = options.pool.onResourcesChanged((key, updatedUri) => {
    if (updatedUri === undefined) notify(key, 'resources');
  });
  const offPrompts = options.pool.onPromptsChanged((key) => notify(key, 'prompts'));
  // Subscribed in the background: the hub starts (and reports itself not ready) while Redis is down.
  const channels = new BackgroundSubscriptions((err, what) =>
    app.log.warn({ err }, `could not subscribe to ${what}; retrying`),
  );
  // A server created, edited, deleted or shared (on any instance): its users' catalogs changed.
  channels.add('catalog changes', () =>
    options.kv.subscribe(CATALOG_CHANNEL, (message) => {
      const change = parseCatalogChange(message);
      if (change) announce(change.users, change.serverName);
    }),
  );
  // What another instance tells the copies of sessions held here.
  channels.add('session events', () =>
    options.kv.subscribe(SESSION_EVENTS_CHANNEL, (message) => {
      const event = parseSessionEvent(message);
      if (event && event.from !== instance) applyEvent(event);
    }),
  );
  // A removed account's sessions end: each instance ends those it holds, the rest expire unused.
  channels.add('account changes', () =>
    watchUserChanges(options.kv, async ({ userId, change }) => {
      if (change !== 'removed') return;
      await Promise.all(sessions.ofUser(userId).map((s) => endSession(s.id)));
    }),
  );
  const applyEvent = (event: SessionEvent): void => {
    if (event.type === 'announce') return announce(event.users, event.serverName, event.lists);
    const copy = sessions.get(event.id);
    if (!copy) return;
    if (event.type === 'ended') void sessions.close(event.id);
    else if (event.type === 'changed') copy.gate.changed(event.kind);
    else if (event.type === 'listed') copy.gate.listed(event.kind);
    else if (event.type === 'updated') copy.deliverUpdated(event.uri);
    else if (event.type === 'response') {
      // An answer to a request this instance's copy sent (routeAnswers), POSTed to another one.
      if (event.to === instance) copy.transport.onmessage?.(event.message as JSONRPCMessage);
    } else void builder.unsubscribed(copy, event.uri);
  };
  /** Ends a session everywhere: its record, this copy, and the other instances' (told). */
  const endSession = async (id: string): Promise<void> => {
    await store.remove(id).catch((err: unknown) => app.log.warn({ err }, 'could not remove a session'));
    publish({ type: 'ended', id });
    await sessions.close(id);
  };
  const offState = options.pool.onStateChange((key, state) => {
    if (state === 'connected') notify(key);
  });
  app.addHook('onClose', async () => {
    offTools();
    offResources();
    offPrompts();
    subscriptions.close();
    offState();
    await channels.close();
  });

  // RFC 9728 §3: the metadata of the aggregated endpoint, and of each server's (its own resource).
  const metadata = (resource: string, name: string) => ({
    resource,
    authorization_servers: [...options.authorizationServers],
    bearer_methods_supported: ['header'],
    scopes_supported: MCP_SCOPES,
    resource_name: name,
  });
  app.get(PRM_PATH, { schema: { hide: true } }, async () =>
    metadata(`${options.publicUrl}/mcp`, 'Switchboard'),
  );
  // Answered for any well-formed name, so the metadata never tells which servers exist.
  app.get(`${PRM_PATH}/servers/:serverName`, { schema: { hide: true } }, async (request) => {
    const { serverName } = request.params as { serverName: string }; // set by the route pattern
    if (!checkServerName(serverName).ok) throw new HubError('HUB_ERR_NOT_FOUND');
    return metadata(`${options.publicUrl}/mcp/servers/${serverName}`, `Switchboard: ${serverName}`);
  });

  // JSON-RPC shapes for what goes wrong before the SDK transport takes over (IV-12).
  app.setErrorHandler((err, _request, reply) => {
    const error = toHubError(err);
    if (error.code === 'HUB_ERR_MALFORMED_JSON') return rpcError(reply, 400, -32700, 'Parse error');
    if (error.status === 413) return rpcError(reply, 413, -32600, 'Request body too large');
    if (error.status === 415) return rpcError(reply, 415, -32600, 'Content-Type must be application/json');
    if (error.status >= 500) reply.log.error({ err }, 'mcp endpoint failed');
    return rpcError(reply, error.status, error.status >= 500 ? -32603 : -32600, error.message);
  });

  /**
   * The caller of an MCP request: a bearer JWT as before, or an access token of the hub's own
   * authorization server whose audience covers this endpoint's resource (RFC 8707). Otherwise a
   * 401 that points at this endpoint's own protected-resource metadata (RFC 9728 §5.1).
   */
  async function authenticate(
    request: FastifyRequest,
    reply: FastifyReply,
    serverName: string | null,
  ): Promise<Identity | null> {
    const token = bearerToken(request.headers.authorization);
    const resource =
      serverName === null ? `${options.publicUrl}/mcp` : `${options.publicUrl}/mcp/servers/${serverName}`;
    try {
      if (token && !isJwt(token) && options.hubTokens) {
        const who = await options.hubTokens.identityOf(token, resource);
        if (who) return who;
      } else if (token) {
        return await options.identity.authenticate(token);
      }
    } catch (err) {
      if (!isHubError(err)) throw err;
    }
    const metadataUrl =
      serverName === null ? resourceMetadataUrl : `${resourceMetadataUrl}/servers/${serverName}`;
    void reply.header('www-authenticate', `Bearer resource_metadata="${metadataUrl}"`);
    rpcError(reply, 401, -32001, 'Authentication required');
    return null;
  }

  /** Callers authenticated by the `onRequest` hook, before the body was read. */
  const callers = new WeakMap<FastifyRequest, Identity>();

  /**
   * The origin and the caller are checked before the body is read, so an anonymous or foreign
   * client cannot make the hub wait for, or parse, a body. Answers itself when either fails.
   */
  async function admit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    checkOrigin(request);
    const serverName = (request.params as { serverName?: string }).serverName ?? null;
    const caller = await authenticate(request, reply, serverName);
    if (caller) callers.set(request, caller);
  }

  async function handle(
    request: FastifyRequest,
    reply: FastifyReply,
    serverName: string | null,
  ): Promise<void> {
    const caller = callers.get(request);
    if (!caller) throw new HubError('HUB_ERR_UNAUTHENTICATED'); // admit answered already
    const server = serverName === null ? null : await options.registry.get(serverName, caller);
    // Each message of this request is handled as this caller, with this lookup of the server.
    const raw: AuthenticatedRequest = request.raw;
    attachRequestContext(raw, { caller, server });
    const sessionId = request.headers['mcp-session-id'];
    let session: GatewaySession | undefined;
    if (typeof sessionId === 'string') {
      const endpoint = server === null ? null : refOf(server);
      const found = await findSession(sessionId, caller, endpoint, request.method === 'DELETE');
      if (found === 'ended') {
        await reply.status(200).send();
        return;
      }
      session = found ?? (await rebuildSession(sessionId, caller, server, raw));
      if (!session) {
        rpcError(reply, 404, -32001, 'Session not found');
        return;
      }
    } else if (request.method === 'POST' && isInitializeMessage(request.body)) {
      try {
        session = await builder.open(caller, server, request.body.params);
      } catch (err) {
        // The per-server endpoint needs the upstream at once; no session exists yet to ask in.
        if (server === null || !isHubError(err, 'HUB_ERR_OAUTH_REQUIRED')) throw err;
        const started = await options.authorization.start(caller, server);
        const link = await options.authorization.browserLink(caller, server, started.flowId);
        rpcError(
          reply,
          403,
          -32002,
          `MCP server '${server.name}' needs your authorization: open ${link} in a browser, sign in, approve access, then connect again`,
        );
        return;
      }
    } else {
      rpcError(reply, 400, -32000, 'Bad Request: no valid session id');
      return;
    }
    if (request.method === 'POST' && (await refuseOverToolCallLimit(app, caller.userId, request.body, reply)))
      return;
    reply.hijack();
    const http = { raw, res: reply.raw, body: request.body, authInfo: raw.auth };
    await serveRequest(session.transport, http);
  }

  /**
   * This instance's copy of the caller's session on this endpoint, decided on the session's current
   * state: undefined when no copy is held here (or the record is gone: the copy is dropped), and
   * `ended` for a DELETE of a session held elsewhere (its record is removed, the others told).
   */
  async function findSession(
    id: string,
    caller: Identity,
    endpoint: ServerRef | null,
    deleting: boolean,
  ): Promise<GatewaySession | 'ended' | undefined> {
    const copy = sessions.find(id, caller.userId, endpoint);
    if (copy) {
      if (await store.touch(id)) return copy;
      await sessions.close(id); // ended on another instance, or expired
      return undefined;
    }
    if (!deleting || sessions.get(id)) return undefined;
    const record = await store.load(id);
    if (!record || record.userId !== caller.userId || !sameEndpoint(record.endpoint, endpoint))
      return undefined;
    await endSession(id);
    return 'ended';
  }

  /** Rebuilds from the KV a session of this caller and endpoint this instance does not hold; one build per id at a time. */
  const building = new Map<string, Promise<GatewaySession | undefined>>();
  function rebuildSession(
    id: string,
    caller: Identity,
    server: RegisteredServer | null,
    raw: AuthenticatedRequest,
  ): Promise<GatewaySession | undefined> {
    const endpoint = server === null ? null : refOf(server);
    if (sessions.get(id)) return Promise.resolve(undefined); // held here, for someone else
    const pending =
      building.get(id) ??
      (async () => {
        const record = await store.load(id);
        if (!record || record.userId !== caller.userId || !sameEndpoint(record.endpoint, endpoint))
          return undefined;
        return builder.rebuild(id, record, { caller, server, authInfo: raw.auth });
      })().finally(() => building.delete(id));
    building.set(id, pending);
    return pending.then((copy) =>
      copy && copy.userId === caller.userId && sameEndpoint(copy.endpoint, endpoint) ? copy : undefined,
    );
  }

  for (const url of ['/mcp', '/mcp/servers/:serverName']) {
    app.route({
      method: ['GET', 'POST', 'DELETE'],
      url,
      schema: { hide: true },
      // Per-request info lines on the hottest route cost more than they tell; failures still log.
      logLevel: 'warn',
      onRequest: async (request, reply) => {
        await admit(request, reply);
        if (reply.sent) return reply;
        return undefined;
      },
      handler: async (request, reply) => {
        const params = request.params as { serverName?: string }; // set by the route pattern above
        await handle(request, reply, params.serverName ?? null);
      },
    });
  }
};
