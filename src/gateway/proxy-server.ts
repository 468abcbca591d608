import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ErrorCode,
  McpError,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import type { UpstreamConnection } from '../connections/index.js';
import { isHubError } from '../errors/index.js';
import type { RegisteredServer } from '../registry/index.js';
import type { CallerConnection } from '../upstreams/index.js';
import { relayTo, type DownstreamExtra } from './downstream-relay.js';
import {
  requestWithAuthorization,
  toolCallWithAuthorization,
  type ProxyDeps,
  type Relay,
} from './proxy-authorization.js';
import { requestContextOf } from './request-context.js';
import type { ResourceSubscriber, ResourceSubscriptions } from './resource-subscriptions.js';
import { sharedSchemaValidator } from './schema-validator.js';
import { sessionLogsOf, type SessionLogs } from './session-logs.js';
import { isSharedConnection, sharedLogLevelError } from './shared-connection.js';
import { processTaskOwners, type TaskOwners } from './task-owners.js';

/** The caller's connection to a server, as the per-server endpoint asks for it on every request. */
export type ProxyConnection = (caller: Identity, server: RegisteredServer) => Promise<CallerConnection>;

/** Requests naming one task by `params.taskId` (MCP 2025-11-25 "tasks"). */
const ONE_TASK_METHODS: ReadonlySet<string> = new Set(['tasks/get', 'tasks/result', 'tasks/cancel']);

/** The hub's own failures become internal errors with a safe message; upstream JSON-RPC errors keep their codes. */
function relayedError(err: unknown): unknown {
  if (err instanceof McpError) return err;
  if (isHubError(err)) return new McpError(ErrorCode.InternalError, err.message);
  return err;
}

/** The caller and server of one request of a per-server endpoint (the endpoint sets both). */
function proxiedContextOf(extra: DownstreamExtra): { caller: Identity; server: RegisteredServer } {
  const { caller, server } = requestContextOf(extra);
  // Set for every request of a per-server endpoint; the guard keeps the types honest.
  if (server === null) throw new McpError(ErrorCode.InternalError, 'No server for this request');
  return { caller, server };
}

/**
 * A transparent per-server endpoint (`/mcp/servers/:serverName`): one SDK server per downstream
 * session that declares the upstream's own capabilities and instructions and relays every request
 * unchanged (names and URIs included) over the caller's `relay` connection, with progress, logs and the
 * upstream's own sampling, elicitation and roots requests passed back to this session's client. Upstream
 * JSON-RPC errors keep their codes; the hub's own failures become internal errors with a safe message.
 * `connection` is asked on every request with that request's context, so the connection used is the
 * one of the caller and server config authenticated and looked up for that very request.
 *
 * A request the caller's authorization of the server is missing for (revoked mid-session), or a
 * `tools/call` the upstream refuses for scope on the live connection, gets the user asked inside the
 * request, as on `/mcp` (proxy-authorization.ts); never an internal error.
 *
 * Resource subscriptions are the exception to "unchanged": the upstream connection is shared with
 * the caller's other sessions (or everyone's, for an app-level server), so they are counted in
 * `subscriptions` and this session hears the updates of its own, with the upstream's URIs. Tasks
 * are the other: each belongs to the user whose call created it (`tasks`), and the others' are
 * unknown ids to everyone else and left out of their `tasks/list`.
 */
export function createProxyServer(
  connection: ProxyConnection,
  first: UpstreamConnection,
  subscriptions: ResourceSubscriptions,
  deps: ProxyDeps,
  tasks: TaskOwners = processTaskOwners,
): Server {
  const info = first.serverInfo ?? { name: 'upstream', version: '0.0.0' };
  const capabilities = first.capabilities ?? {};
  const server = new Server(
    { name: info.name, version: info.version },
    {
      capabilities,
      jsonSchemaValidator: sharedSchemaValidator,
      ...(first.instructions === undefined ? {} : { instructions: first.instructions }),
    },
  );
  // The session hears its own connection's log messages sent outside calls once it made a request.
  const logs = deps.pool && sessionLogsOf(deps.pool);
  server.fallbackRequestHandler = async (request, extra) => {
    try {
      const { caller, server: target } = proxiedContextOf(extra);
      logs?.join(server, extra, target.name);
      const userId = caller.userId;
      const params = request.params as Record<string, unknown> | undefined; // a JSON-RPC params object
      const progressToken = request.params?._meta?.progressToken;
      const relay: Relay<Record<string, unknown>> = async (on) => {
        const { key, connection: upstream } = await connection(caller, on);
        if (ONE_TASK_METHODS.has(request.method)) tasks.check(key, params?.taskId, userId);
        const result = await upstream.forward(request.method, params, relayTo(server, extra, progressToken));
        return ownTasks(tasks, { key, userId, method: request.method, params }, result);
      };
      const asked = { server, extra, progressToken };
      if (request.method !== 'tools/call')
        return await requestWithAuthorization(asked, caller, target, deps, relay);
      return await toolCallWithAuthorization(asked, caller, target, deps, relay);
    } catch (err) {
      throw relayedError(err);
    }
  };
  if (capabilities.resources !== undefined) relaySubscriptions(server, connection, subscriptions, deps);
  if (capabilities.logging !== undefined) relayLogLevel(server, connection, deps, logs);
  return server;
}

/** `resources/subscribe` and `unsubscribe` through the shared counts; updates keep the upstream's URI. */
function relaySubscriptions(
  server: Server,
  connection: ProxyConnection,
  subscriptions: ResourceSubscriptions,
  deps: ProxyDeps,
): void {
  const subscriber: ResourceSubscriber = {
    updated: (_serverName, uri) => {
      server.sendResourceUpdated({ uri }).catch(() => undefined);
    },
  };
  server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
    try {
      const { caller, server: target } = proxiedContextOf(extra);
      const uri = request.params.uri;
      const asked = { server, extra, progressToken: undefined };
      await requestWithAuthorization(asked, caller, target, deps, async (on) => {
        const { key, connection: upstream } = await connection(caller, on);
        await subscriptions.subscribe({ key, connection: upstream, uri }, uri, subscriber);
      });
      return {};
    } catch (err) {
      throw relayedError(err);
    }
  });
  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subscriptions.unsubscribe(subscriber, request.params.uri);
    return {};
  });
  server.onclose = () => subscriptions.dropSubscriber(subscriber);
}

/**
 * `logging/setLevel`, which the SDK would answer itself (declaring `logging` installs its own
 * handler): relayed to the upstream on the caller's own connection, refused with an error saying
 * why on an app-level server's shared one, where it would change what every user hears.
 */
function relayLogLevel(
  server: Server,
  connection: ProxyConnection,
  deps: ProxyDeps,
  logs: SessionLogs | undefined,
): void {
  server.setRequestHandler(SetLevelRequestSchema, async (request, extra) => {
    try {
      const { caller, server: target } = proxiedContextOf(extra);
      const asked = { server, extra, progressToken: undefined };
      return await requestWithAuthorization(asked, caller, target, deps, async (on) => {
        const { key, connection: upstream } = await connection(caller, on);
        if (isSharedConnection(key)) throw sharedLogLevelError(on.name);
        const set = await upstream.forward(
          'logging/setLevel',
          request.params,
          relayTo(server, extra, undefined),
        );
        logs?.setLevel(server, extra, on.name, request.params.level);
        return set;
      });
    } catch (err) {
      throw relayedError(err);
    }
  });
}

/**
 * A task a call created becomes its caller's; `tasks/list` keeps only the caller's own. Any other
 * result passes unchanged.
 */
function ownTasks(
  tasks: TaskOwners,
  request: { key: string; userId: string; method: string; params: Record<string, unknown> | undefined },
  result: Record<string, unknown>,
): Record<string, unknown> {
  const { key, userId, method, params } = request;
  if (method === 'tasks/list' && Array.isArray(result.tasks)) {
    const listed = result.tasks as { taskId?: unknown }[];
    return {
      ...result,
      tasks: listed.filter((task) => typeof task.taskId === 'string' && tasks.owns(key, task.taskId, userId)),
    };
  }
  const created = result.task as { taskId?: unknown; ttl?: unknown } | undefined;
  if (params?.task !== undefined && typeof created?.taskId === 'string') {
    tasks.record(key, created.taskId, userId, typeof created.ttl === 'number' ? created.ttl : undefined);
  }
  return result;
}
