import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolResultSchema,
  ErrorCode,
  McpError,
  type CallToolRequest,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { CallTimer } from './call-timer.js';

/**
 * Calls a tool that runs only as a task (MCP 2025-11-25 "tasks") and waits for its result, for
 * callers that cannot hold a task themselves (REST, MCP clients without task support): the task is
 * created with `task: {}`, polled with `tasks/get` at the server's `pollInterval`, and its result
 * read with `tasks/result`. Every status heard restarts the call's timeout, as progress does (the
 * total bound still applies). A call given up (aborted, timed out) cancels its task at the server,
 * best effort. A failed or cancelled task rejects with the SDK's JSON-RPC error.
 */
export async function runAsTask(
  client: Client,
  params: CallToolRequest['params'],
  sdk: RequestOptions,
  timer: CallTimer,
): Promise<CallToolResult> {
  let taskId: string | undefined;
  try {
    const stream = client.experimental.tasks.callToolStream(params, CallToolResultSchema, {
      ...sdk,
      task: {},
    });
    for await (const message of stream) {
      timer.touch();
      if (message.type === 'taskCreated') taskId = message.task.taskId;
      else if (message.type === 'result') return message.result;
      else if (message.type === 'error') throw message.error;
    }
    throw new McpError(ErrorCode.InternalError, 'The task ended without a result');
  } catch (err) {
    if (taskId !== undefined && sdk.signal?.aborted === true) {
      client.experimental.tasks.cancelTask(taskId).catch(() => undefined);
    }
    throw err;
  }
}
