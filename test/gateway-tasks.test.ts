import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  ElicitRequestSchema,
  type ClientCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdioCommand } from './peers/everything.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { textOf } from './support/mcp-helpers.js';

const TASK_TOOL = 'simulate-research-query';

/**
 * Issue 16: tools that run only as tasks (MCP 2025-11-25 `execution.taskSupport: "required"`).
 * server-everything's `simulate-research-query` is one (about four seconds, over stdio, on one
 * upstream session every user shares). REST and /mcp callers get it run as a task by the hub and
 * answered when done; /mcp/servers/<name> relays tasks to a client that holds them itself, and a
 * task belongs to the user who created it.
 */
describe('tasks', () => {
  let hub: TestHub;
  let base: string;
  let alice: string;
  let bob: string;
  const clients: Client[] = [];

  async function connect(token: string, path: string, capabilities: ClientCapabilities = {}) {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}${path}`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'tasks-test', version: '1.0.0' }, { capabilities });
    await client.connect(transport);
    clients.push(client);
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
    [alice, bob] = await Promise.all([hub.userToken('alice@example.com'), hub.userToken('bob@example.com')]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.dispose();
  });

  it('REST lists a task-only tool, and a call runs it as a task and answers its result', async () => {
    const listed = await hub.app.inject({
      method: 'GET',
      url: '/api/mcp/tools',
      headers: { authorization: `Bearer ${alice}` },
    });
    const tools = listed.json<{ servers: Record<string, { tools: { name: string }[] }> }>().servers.everything
      ?.tools;
    expect(tools?.map((t) => t.name)).toContain(TASK_TOOL);

    const called = await hub.app.inject({
      method: 'POST',
      url: `/api/mcp/everything/tools/${TASK_TOOL}/call`,
      headers: { authorization: `Bearer ${alice}` },
      payload: { arguments: { topic: 'otters' } },
    });
    expect(called.statusCode, called.body).toBe(200);
    const body = called.json<{ content: { type: string; text: string }[]; isError?: boolean }>();
    expect(body.isError).toBeFalsy();
    expect(body.content[0]?.text).toContain('otters');
  }, 30_000);

  it('/mcp lists it for a client without task support and answers the call with the task result', async () => {
    const client = await connect(alice, '/mcp');
    const tool = (await client.listTools()).tools.find((t) => t.name === `everything__${TASK_TOOL}`);
    expect(tool).toBeDefined();
    // The hub runs the task itself: to this client it is a plain tool.
    expect(tool?.execution?.taskSupport).toBeUndefined();
    const result = await client.callTool({
      name: `everything__${TASK_TOOL}`,
      arguments: { topic: 'beavers' },
    });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toContain('beavers');
  }, 30_000);

  it('/mcp: a task that needs input asks the calling client (elicitation through tasks/result)', async () => {
    const client = await connect(alice, '/mcp', { elicitation: { form: {} } });
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      asked.push(request.params.message);
      return { action: 'accept', content: { interpretation: 'the river animal' } };
    });
    const result = await client.callTool({
      name: `everything__${TASK_TOOL}`,
      arguments: { topic: 'otters', ambiguous: true },
    });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(asked).toEqual([expect.stringContaining('otters')]);
    expect(textOf(result)).toContain('the river animal');
  }, 30_000);

  it('/mcp/servers/<name> relays tasks to a client that holds them; another user cannot see or read them', async () => {
    const tasksCapable: ClientCapabilities = { tasks: { list: {}, cancel: {} } };
    const mine = await connect(alice, '/mcp/servers/everything', tasksCapable);
    const tool = (await mine.listTools()).tools.find((t) => t.name === TASK_TOOL);
    expect(tool?.execution?.taskSupport).toBe('required');

    let taskId: string | undefined;
    let text = '';
    const stream = mine.experimental.tasks.callToolStream(
      { name: TASK_TOOL, arguments: { topic: 'herons' } },
      CallToolResultSchema,
    );
    const other = await connect(bob, '/mcp/servers/everything', tasksCapable);
    for await (const message of stream) {
      if (message.type === 'taskCreated') {
        taskId = message.task.taskId;
        // While it runs: bob's view of the same upstream session knows nothing of alice's task.
        await expect(other.experimental.tasks.getTask(taskId)).rejects.toThrow(/Task not found/);
        await expect(other.experimental.tasks.cancelTask(taskId)).rejects.toThrow(/Task not found/);
        const bobs = await other.experimental.tasks.listTasks();
        expect(bobs.tasks.map((t) => t.taskId)).not.toContain(taskId);
        const alices = await mine.experimental.tasks.listTasks();
        expect(alices.tasks.map((t) => t.taskId)).toContain(taskId);
      }
      if (message.type === 'result') text = textOf(message.result);
      if (message.type === 'error') throw message.error;
    }
    expect(taskId).toBeDefined();
    expect(text).toContain('herons');
    const id = taskId ?? '';
    expect((await mine.experimental.tasks.getTask(id)).status).toBe('completed');
    await expect(other.experimental.tasks.getTaskResult(id, CallToolResultSchema)).rejects.toThrow(
      /Task not found/,
    );
    expect(textOf(await mine.experimental.tasks.getTaskResult(id, CallToolResultSchema))).toContain('herons');
  }, 30_000);
});
