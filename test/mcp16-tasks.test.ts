import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  ElicitRequestSchema,
  type ClientCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdioCommand } from './peers/everything.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { textOf } from './support/mcp-helpers.js';

const TASK_TOOL = 'everything__simulate-research-query';
const TASKS: ClientCapabilities = { tasks: { list: {}, cancel: {} } };

/**
 * Issue 16: tasks relayed on the aggregated /mcp (MCP 2025-11-25 "tasks"). /mcp declares
 * `tasks` (list, cancel, tools/call); a client that declared `tasks` sees which tools run as tasks,
 * and its task-augmented call creates the task upstream, shown under `<server>:<upstream id>` and
 * bound to the user who created it: tasks/get, tasks/result, tasks/cancel and tasks/list answer its
 * creator only. server-everything's `simulate-research-query` (task-only, about four seconds) over
 * stdio, on one upstream session every user shares.
 */
describe('tasks on /mcp', () => {
  let hub: TestHub;
  let base: string;
  const clients: Client[] = [];

  async function connect(email: string, capabilities: ClientCapabilities): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${await hub.userToken(email)}` } },
    });
    const client = new Client({ name: 'mcp16-tasks', version: '1.0.0' }, { capabilities });
    clients.push(client);
    await client.connect(transport);
    return client;
  }

  beforeAll(async () => {
    const stdio = everythingStdioCommand();
    hub = await startTestHub({
      yaml: `
mcpServers:
  everything:
    command: ${JSON.stringify(stdio.command)}
    args: ${JSON.stringify(stdio.args)}
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.dispose();
  });

  it('a client holding tasks gets the task itself, under a namespaced id; another user cannot see, read or cancel it', async () => {
    const mine = await connect('alice@example.com', TASKS);
    expect(mine.getServerCapabilities()?.tasks?.requests?.tools?.call).toBeDefined();
    const tool = (await mine.listTools()).tools.find((t) => t.name === TASK_TOOL);
    expect(tool?.execution?.taskSupport).toBe('required');
    const other = await connect('bob@example.com', TASKS);
    await other.listTools();

    let taskId = '';
    let text = '';
    const seen: string[] = [];
    const stream = mine.experimental.tasks.callToolStream(
      { name: TASK_TOOL, arguments: { topic: 'herons' } },
      CallToolResultSchema,
    );
    for await (const message of stream) {
      seen.push(message.type);
      if (message.type === 'taskCreated') {
        taskId = message.task.taskId;
        expect(taskId).toMatch(/^everything:./);
        // While it runs: bob, on the same upstream session, knows nothing of alice's task.
        await expect(other.experimental.tasks.getTask(taskId)).rejects.toThrow(/Task not found/);
        await expect(other.experimental.tasks.cancelTask(taskId)).rejects.toThrow(/Task not found/);
        expect((await other.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).not.toContain(taskId);
        expect((await mine.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).toContain(taskId);
      }
      if (message.type === 'result') text = textOf(message.result);
      if (message.type === 'error') throw message.error;
    }
    expect(seen[0]).toBe('taskCreated');
    expect(text).toContain('herons');
    const done = await mine.experimental.tasks.getTask(taskId);
    expect(done).toMatchObject({ taskId, status: 'completed' });
    await expect(other.experimental.tasks.getTaskResult(taskId, CallToolResultSchema)).rejects.toThrow(
      /Task not found/,
    );
    expect(textOf(await mine.experimental.tasks.getTaskResult(taskId, CallToolResultSchema))).toContain(
      'herons',
    );
    // An id /mcp never made, or of a server that does not exist, is not found either.
    await expect(mine.experimental.tasks.getTask('no-such-task')).rejects.toThrow(/Task not found/);
    await expect(mine.experimental.tasks.getTask('nowhere:1')).rejects.toThrow(/Task not found/);
  }, 30_000);

  it('a task that needs input asks its client through tasks/result', async () => {
    const client = await connect('carol@example.com', { ...TASKS, elicitation: { form: {} } });
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      asked.push(request.params.message);
      return { action: 'accept', content: { interpretation: 'the river animal' } };
    });
    await client.listTools();
    let text = '';
    const stream = client.experimental.tasks.callToolStream(
      { name: TASK_TOOL, arguments: { topic: 'otters', ambiguous: true } },
      CallToolResultSchema,
    );
    for await (const message of stream) {
      if (message.type === 'result') text = textOf(message.result);
      if (message.type === 'error') throw message.error;
    }
    expect(asked).toEqual([expect.stringContaining('otters')]);
    expect(text).toContain('the river animal');
  }, 30_000);

  it('a client without tasks sees a plain tool, which the hub runs as a task and answers', async () => {
    const client = await connect('dave@example.com', {});
    const tool = (await client.listTools()).tools.find((t) => t.name === TASK_TOOL);
    expect(tool).toBeDefined();
    expect(tool?.execution).toBeUndefined();
    const result = await client.callTool({ name: TASK_TOOL, arguments: { topic: 'beavers' } });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toContain('beavers');
  }, 30_000);
});
