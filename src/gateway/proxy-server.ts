import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ErrorCode,
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamConnection } from '../connections/index.js';
import { isHubError } from '../errors/index.js';
import type { CallerConnection } from '../upstreams/index.js';
import { relayTo, type DownstreamExtra } from './downstream-relay.js';
import { requestContextOf } from './request-context.js';
import type { ResourceSubscriber, ResourceSubscriptions } from './resource-subscriptions.js';
import { sharedSchemaValidator } from './schema-validator.js';
import { TaskOwners } from './task-owners.js';

/** This process's relayed tasks, shared by every per-server session (a task outlives its session). */
const processTaskOwners = new TaskOwners();
/** Requests naming one task by `params.taskId` (MCP 2025-11-25 "tasks"). */
const ONE_TASK_METHODS: ReadonlySet<string> = new Set(['tasks/get', 'tasks/result', 'tasks/cancel']);

/** The hub's own failures become internal errors with a safe message; upstream JSON-RPC errors keep their codes. */
function relayedError(err: unknown): unknown {
  if (err instanceof McpError) return err;
  if (isHubError(err)) return new McpError(ErrorCode.InternalError, err.message);
  return err;
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
 * Resource subscriptions are the exception to "unchanged": the upstream connection is shared with
 * the caller's other sessions (or everyone's, for an app-level server), so they are counted in
 * `subscriptions` and this session hears the updates of its own, with the upstream's URIs. Tasks
 * are the other: each belongs to the user whose call created it (`tasks`), and the others' are
 * unknown ids to everyone else and left out of their `tasks/list`.
 */
export function createProxyServer(
  connection: (extra: DownstreamExtra) => Promise<CallerConnection>,
  first: UpstreamConnection,
  subscriptions: ResourceSubscriptions,
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
  server.fallbackRequestHandler = async (request, extra) => {
    try {
      const { key, connection: upstream } = await connection(extra);
      const userId = requestContextOf(extra).caller.userId;
      const params = request.params as Record<string, unknown> | undefined; // a JSON-RPC params object
      if (ONE_TASK_METHODS.has(request.method)) tasks.check(key, params?.taskId, userId);
      const result = await upstream.forward(
        request.method,
        params,
        relayTo(server, extra, request.params?._meta?.progressToken),
      );
      return ownTasks(tasks, { key, userId, method: request.method, params }, result);
    } catch (err) {
      throw relayedError(err);
    }
  };
  if (capabilities.resources !== undefined) relaySubscriptions(server, connection, subscriptions);
  return server;
}

/** `resources/subscribe` and `unsubscribe` through the shared counts; updates keep the upstream's URI. */
function relaySubscriptions(
  server: Server,
  connection: (extra: DownstreamExtra) => Promise<CallerConnection>,
  subscriptions: ResourceSubscriptions,
): void {
  const subscriber: ResourceSubscriber = {
    updated: (_serverName, uri) => {
      server.sendResourceUpdated({ uri }).catch(() => undefined);
    },
  };
  server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
    try {
      const { key, connection: upstream } = await connection(extra);
      const uri = request.params.uri;
      await subscriptions.subscribe({ key, connection: upstream, uri }, uri, subscriber);
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
