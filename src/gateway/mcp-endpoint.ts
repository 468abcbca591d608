import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Identity, IdentityService } from '../auth/index.js';
import type { ConnectionPool } from '../connections/index.js';
import type { Clock } from '../core/index.js';
import { checkServerName } from '../config/index.js';
import { HubError, isHubError } from '../errors/index.js';
import { bearerToken, toHubError } from '../http/index.js';
import type { Kv, KvUnsubscribe } from '../kv/index.js';
import type { RegisteredServer } from '../registry/index.js';
import { CATALOG_CHANNEL, parseCatalogChange } from '../servers/index.js';
import { parseConnectionKey } from '../upstreams/index.js';
import { createAggregateServer, type AggregateDeps } from './aggregate-server.js';
import { gateListChanged, type ListKind } from './list-changed-gate.js';
import { createOriginCheck } from './origin-check.js';
import { createProxyServer } from './proxy-server.js';
import { attachRequestContext } from './request-context.js';
import { ResourceSubscriptions } from './resource-subscriptions.js';
import { refOf } from './server-ref.js';
import { SessionUpstreams } from './session-upstreams.js';
import { GatewaySessions, type GatewaySession } from './sessions.js';
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
  /** Where servers' catalog changes are announced, by any instance ({@link CATALOG_CHANNEL}). */
  kv: Pick<Kv, 'subscribe'>;
}

/** Checks an access token of the hub's own authorization server for one MCP endpoint. */
export interface HubTokenVerifier {
  /** The caller, or null unless the token is live and bound to a resource covering `resource`. */
  identityOf(token: string, resource: string): Promise<Identity | null>;
}

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
  const sessions = new GatewaySessions(options.clock, { idleMs: 30 * 60_000, perUser: 50 });
  const checkOrigin = createOriginCheck({ publicUrl: options.publicUrl });
  const resourceMetadataUrl = `${options.publicUrl}${PRM_PATH}`;
  // Shutdown: the GET streams end first (they would hold the server open); in-flight calls drain.
  app.addHook('preClose', async () => sessions.endStandaloneStreams());
  app.addHook('onClose', async () => sessions.closeAll());

  const subscriptions = new ResourceSubscriptions(options.pool);
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
    for (const s of targets) {
      if (s.endpoint !== null && s.endpoint.name !== serverName) continue;
      const all = lists === 'all';
      if (all || lists === 'tools') void s.server.sendToolListChanged().catch(() => undefined);
      if (all || lists === 'resources') void s.server.sendResourceListChanged().catch(() => undefined);
      if (all || lists === 'prompts') void s.server.sendPromptListChanged().catch(() => undefined);
    }
  };
  // An upstream list changed, or a connection (re)opened (all): the sessions of the key's users.
  const notify = (key: string, lists?: ListKind): void => {
    const parts = parseConnectionKey(key);
    // A connection of one session's own (session-upstreams.ts) concerns that session alone: it tells it.
    if (parts && parts.sessionId === null)
      announce(parts.userId === null ? null : [parts.userId], parts.serverName, lists);
  };
  const offTools = options.pool.onToolsChanged((key) => notify(key, 'tools'));
  const offResources = options.pool.onResourcesChanged((key, updatedUri) => {
    if (updatedUri === undefined) notify(key, 'resources');
  });
  const offPrompts = options.pool.onPromptsChanged((key) => notify(key, 'prompts'));
  // A server created, edited, deleted or shared (on any instance): its users' catalogs changed.
  // Subscribed in the background: the hub starts (and reports itself not ready) while Redis is down.
  let offCatalog: KvUnsubscribe | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const subscribeCatalog = async (attempt: number): Promise<void> => {
    try {
      const off = await options.kv.subscribe(CATALOG_CHANNEL, (message) => {
        const change = parseCatalogChange(message);
        if (change) announce(change.users, change.serverName);
      });
      if (closed) await off();
      else offCatalog = off;
    } catch (err) {
      if (closed) return;
      app.log.warn({ err }, 'could not subscribe to catalog changes; retrying');
      retry = setTimeout(() => void subscribeCatalog(attempt + 1), Math.min(30_000, 1_000 * 2 ** attempt));
      retry.unref();
    }
  };
  void subscribeCatalog(0);
  const offState = options.pool.onStateChange((key, state) => {
    if (state === 'connected') notify(key);
  });
  app.addHook('onClose', async () => {
    offTools();
    offResources();
    offPrompts();
    subscriptions.close();
    offState();
    closed = true;
    clearTimeout(retry);
    await offCatalog?.();
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
    const sessionId = request.headers['mcp-session-id'];
    let session: GatewaySession | undefined;
    if (typeof sessionId === 'string') {
      session = sessions.find(sessionId, caller.userId, server === null ? null : refOf(server));
      if (!session) {
        rpcError(reply, 404, -32001, 'Session not found');
        return;
      }
    } else if (request.method === 'POST' && isInitializeRequest(request.body)) {
      try {
        session = await openSession(caller, server);
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
    // Each message of this request is handled as this caller, with this lookup of the server.
    attachRequestContext(request.raw, { caller, server });
    reply.hijack();
    await session.transport.handleRequest(request.raw, reply.raw, request.body);
  }

  /** The caller's `relay` connection to a server, and its pool key. */
  const relayOf = (caller: Identity, server: RegisteredServer, own?: SessionUpstreams) =>
    (own?.upstreams ?? options.upstreams).connect(caller, server, 'relay');

  /**
   * A new session: of the aggregated endpoint (`server` null), or of one server's (already looked
   * up). It holds no identity and no server config: its handlers read both from each request.
   */
  async function openSession(caller: Identity, server: RegisteredServer | null): Promise<GatewaySession> {
    const endpoint = server === null ? null : refOf(server);
    const sessionId = randomUUID();
    const own = new SessionUpstreams(options.upstreams, options.pool, sessionId, options.logger);
    let mcpServer;
    if (server === null) {
      const deps = { ...options, upstreams: own.upstreams, sharedUpstreams: options.upstreams };
      mcpServer = createAggregateServer(deps, subscriptions);
    } else {
      mcpServer = createProxyServer(
        (who, on) => relayOf(who, on, own),
        (await relayOf(caller, server)).connection,
        subscriptions,
        options,
      );
    }
    own.attach(mcpServer);
    const holder: { session?: GatewaySession } = {};
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => sessionId,
      onsessioninitialized: (id) => {
        holder.session = {
          id,
          userId: caller.userId,
          endpoint,
          server: mcpServer,
          transport,
          lastActive: options.clock.now(),
        };
        sessions.add(holder.session);
      },
    });
    transport.onclose = () => {
      if (holder.session) sessions.forget(holder.session.id);
      void own.close(); // never rejects
    };
    await mcpServer.connect(transport);
    gateListChanged(mcpServer, transport);
    return {
      id: '',
      userId: caller.userId,
      endpoint,
      server: mcpServer,
      transport,
      lastActive: options.clock.now(),
    };
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
