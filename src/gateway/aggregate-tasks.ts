import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CancelTaskRequestSchema,
  ErrorCode,
  GetTaskPayloadRequestSchema,
  GetTaskRequestSchema,
  ListTasksRequestSchema,
  McpError,
  RELATED_TASK_META_KEY,
  type CallToolRequest,
  type CallToolResult,
  type CreateTaskResult,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import type { RegisteredServer } from '../registry/index.js';
import type { AggregateDeps } from './aggregate-server.js';
import { upstreamMeta } from './caller-meta.js';
import { connectedWith, listAll } from './connected-servers.js';
import { relayTo, type DownstreamExtra } from './downstream-relay.js';
import { exposeToolResult } from './exposed-content.js';
import { requestContextOf } from './request-context.js';
import { processTaskOwners, type TaskOwners } from './task-owners.js';

/** What `/mcp` declares (MCP 2025-11-25 "tasks"): tool calls as tasks, listed and cancellable. */
export const AGGREGATE_TASKS: NonNullable<ServerCapabilities['tasks']> = {
  list: {},
  cancel: {},
  requests: { tools: { call: {} } },
};

/** Server names hold no ':' (letters, digits, '_' and '-'): the first one ends the name. */
const SEPARATOR = ':';

/** The id `/mcp` shows for an upstream's task: `<server>:<upstream task id>`. */
export function exposedTaskId(serverName: string, taskId: string): string {
  return `${serverName}${SEPARATOR}${taskId}`;
}

/** The server name and upstream id an exposed task id stands for, or null for one `/mcp` never made. */
function upstreamTaskOf(exposed: string): { serverName: string; taskId: string } | null {
  const at = exposed.indexOf(SEPARATOR);
  if (at <= 0 || at === exposed.length - 1) return null;
  return { serverName: exposed.slice(0, at), taskId: exposed.slice(at + 1) };
}

/** The answer to a task id the caller has no task of (unknown, another user's, or expired). */
const notFound = (): McpError => new McpError(ErrorCode.InvalidParams, 'Task not found');

/** True when the session's client declared `tasks`: it holds tasks itself, and is shown which tools run as tasks. */
export function clientHoldsTasks(server: Server): boolean {
  return server.getClientCapabilities()?.tasks !== undefined;
}

/**
 * A task-augmented `tools/call` (params.task) relayed to the upstream on the caller's connection:
 * the task it creates becomes the caller's ({@link TaskOwners}) and is shown under its exposed id.
 */
export async function createToolTask(
  deps: AggregateDeps,
  asked: { server: Server; extra: DownstreamExtra },
  target: RegisteredServer,
  toolName: string,
  params: CallToolRequest['params'],
  tasks: TaskOwners = processTaskOwners,
): Promise<CreateTaskResult> {
  const { caller } = requestContextOf(asked.extra);
  const { key, connection } = await deps.upstreams.connect(caller, target, 'relay');
  const meta = upstreamMeta(params._meta);
  const upstreamParams = {
    name: toolName,
    arguments: params.arguments ?? {},
    task: params.task,
    ...(meta === undefined ? {} : { _meta: meta }),
  };
  const progressToken = params._meta?.progressToken;
  const result = await connection.forward(
    'tools/call',
    upstreamParams,
    relayTo(asked.server, asked.extra, progressToken),
  );
  const task = result.task as { taskId?: unknown; ttl?: unknown } | undefined;
  if (typeof task?.taskId !== 'string')
    throw new McpError(ErrorCode.InternalError, `MCP server '${target.name}' did not create a task`);
  tasks.record(key, task.taskId, caller.userId, typeof task.ttl === 'number' ? task.ttl : undefined);
  // The upstream's task as it gave it (the SDK checks its shape), under the exposed id.
  return {
    ...result,
    task: { ...task, taskId: exposedTaskId(target.name, task.taskId) },
  } as CreateTaskResult;
}

/**
 * `tasks/get`, `tasks/result`, `tasks/cancel` and `tasks/list` of an aggregated session. An exposed
 * id names its server; the request goes to that server as the registry gives it to the caller now,
 * on the caller's connection, and only for a task the caller created there (anyone else's id is
 * "Task not found", as an unknown one). `tasks/list` gathers the caller's own tasks of every
 * connected server that lists tasks, every page at once.
 */
export function registerTaskHandlers(
  server: Server,
  deps: AggregateDeps,
  tasks: TaskOwners = processTaskOwners,
): void {
  const onTask = async (exposed: string, extra: DownstreamExtra, method: string) => {
    const { caller } = requestContextOf(extra);
    const named = upstreamTaskOf(exposed);
    if (named === null) throw notFound();
    const target = await deps.registry.get(named.serverName, caller).catch(() => null);
    if (target === null) throw notFound();
    const { key, connection } = await deps.upstreams.connect(caller, target, 'relay');
    tasks.check(key, named.taskId, caller.userId);
    const result = await connection.forward(
      method,
      { taskId: named.taskId },
      relayTo(server, extra, undefined),
    );
    return { target, result, exposed };
  };
  /** A task (tasks/get, tasks/cancel) under its exposed id. */
  const shown = ({ result, exposed }: { result: Record<string, unknown>; exposed: string }) => ({
    ...result,
    taskId: exposed,
  });

  server.setRequestHandler(GetTaskRequestSchema, async (request, extra) =>
    shown(await onTask(request.params.taskId, extra, 'tasks/get')),
  );
  server.setRequestHandler(CancelTaskRequestSchema, async (request, extra) =>
    shown(await onTask(request.params.taskId, extra, 'tasks/cancel')),
  );
  server.setRequestHandler(GetTaskPayloadRequestSchema, async (request, extra) => {
    const { target, result, exposed } = await onTask(request.params.taskId, extra, 'tasks/result');
    const meta = { ...(result._meta as Record<string, unknown> | undefined) };
    if (meta[RELATED_TASK_META_KEY] !== undefined) meta[RELATED_TASK_META_KEY] = { taskId: exposed };
    const exposedResult = exposeToolResult(target.name, result as CallToolResult);
    return { ...exposedResult, ...(result._meta === undefined ? {} : { _meta: meta }) };
  });
  server.setRequestHandler(ListTasksRequestSchema, async (_request, extra) => {
    const caller: Identity = requestContextOf(extra).caller;
    const listed: Array<Record<string, unknown>> = [];
    for (const connected of await connectedWith(deps, caller, 'tasks')) {
      for (const task of await listAll(connected, 'tasks/list', 'tasks')) {
        const id = task.taskId;
        if (typeof id !== 'string' || !tasks.owns(connected.key, id, caller.userId)) continue;
        listed.push({ ...task, taskId: exposedTaskId(connected.server.name, id) });
      }
    }
    return { tasks: listed }; // each item is the upstream's own task, its id exposed
  });
}
