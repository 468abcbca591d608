import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  type ClientCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdioCommand } from './peers/everything.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { textOf } from './support/mcp-helpers.js';

/**
 * Issue 6 §3: server→client requests (sampling, elicitation) reach the downstream client whose
 * call caused them, and the answer goes back to the right upstream — over a stdio upstream
 * (server-everything) and over an HTTP upstream shared by many users at once.
 */
describe('server→client requests through /mcp', () => {
  let hub: TestHub;
  let probe: ProbeServer;
  let base: string;
  const clients: Client[] = [];

  async function connect(
    token: string,
    capabilities: ClientCapabilities,
    name = 'relay-test',
  ): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name, version: '1.0.0' }, { capabilities });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    probe = await startProbeServer();
    const stdio = everythingStdioCommand();
    hub = await startTestHub({
      yaml: `
mcpServers:
  everything:
    command: ${JSON.stringify(stdio.command)}
    args: ${JSON.stringify(stdio.args)}
  probe:
    type: streamable-http
    url: ${probe.url}
  patient:
    type: streamable-http
    url: ${probe.url}
    timeout: 1000
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.dispose();
    await probe?.stop();
  });

  it("server-everything's trigger-sampling-request reaches the client, and its answer returns", async () => {
    const client = await connect(await hub.userToken('sampler@example.com'), { sampling: {} });
    const seen: string[] = [];
    client.setRequestHandler(CreateMessageRequestSchema, (request) => {
      const first = request.params.messages[0]?.content;
      seen.push(first && !Array.isArray(first) && first.type === 'text' ? first.text : '');
      return { role: 'assistant', model: 'test-model', content: { type: 'text', text: 'forty-two' } };
    });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('everything__trigger-sampling-request');
    // A tool that runs only as a task (execution.taskSupport "required") is offered: the hub runs the task.
    expect(tools.map((t) => t.name)).toContain('everything__simulate-research-query');
    const result = await client.callTool({
      name: 'everything__trigger-sampling-request',
      arguments: { prompt: 'the answer?', maxTokens: 10 },
    });
    expect(result.isError).toBeFalsy();
    expect(JSON.stringify(result.content)).toContain('forty-two');
    expect(seen).toEqual([expect.stringContaining('the answer?')]);
  });

  it('a form elicitation reaches the client, and what the user typed returns to the tool', async () => {
    const client = await connect(await hub.userToken('elicited@example.com'), { elicitation: { form: {} } });
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      expect(request.params.mode ?? 'form').toBe('form');
      return { action: 'decline' };
    });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('everything__trigger-elicitation-request');
    const result = await client.callTool({ name: 'everything__trigger-elicitation-request', arguments: {} });
    expect(textOf(result)).toMatch(/declined/i);
  });

  it('a client that declared no sampling is refused, as it would refuse itself, and the call says so', async () => {
    const client = await connect(await hub.userToken('nosampling@example.com'), {});
    // The relay connection declared sampling upstream, so the tool is offered to every /mcp client…
    const result = await client.callTool({ name: 'probe__sample', arguments: { prompt: 'anyone?' } });
    // …and the upstream hears the refusal (not a hang, not another client's answer).
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/does not support sampling/);
  });

  it("a call's timeout stands still while its client answers the upstream's request", async () => {
    const client = await connect(await hub.userToken('slowmodel@example.com'), { sampling: {} });
    client.setRequestHandler(CreateMessageRequestSchema, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // longer than the server's 1 s timeout
      return { role: 'assistant', model: 'm', content: { type: 'text', text: 'late but fine' } };
    });
    const answered = await client.callTool({
      name: 'patient__sample',
      arguments: { prompt: 'take your time' },
    });
    expect(answered.isError, textOf(answered)).toBeFalsy();
    expect(textOf(answered)).toBe('Model said: late but fine');
    // The same 1 s timeout still ends a call that simply gets no answer.
    const started = Date.now();
    const hung = await client.callTool({ name: 'patient__hang', arguments: {} });
    expect(hung.isError).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('the REST API sees no tool that needs a capability it cannot serve', async () => {
    const token = await hub.userToken('rest@example.com');
    const res = await hub.app.inject({
      method: 'GET',
      url: '/api/mcp/tools',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ servers: Record<string, { tools: Array<{ name: string }> }> }>();
    const restTools = Object.values(body.servers).flatMap((s) => s.tools.map((t) => t.name));
    expect(restTools).toContain('echo');
    expect(restTools).not.toContain('trigger-sampling-request');
    expect(restTools).not.toContain('sample');
  });

  it('30 users sampling at once over one shared HTTP connection: each answer returns to its own call', async () => {
    // HTTP upstreams send a call's requests on that call's own response stream, which the hub reads.
    const users = await Promise.all(
      Array.from({ length: 30 }, (_, i) => hub.userToken(`crowd${i}@example.com`)),
    );
    const sessions = await Promise.all(
      users.map(async (token, i) => {
        const client = await connect(token, { sampling: {} }, `crowd-${i}`);
        const prompts: string[] = [];
        client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
          const first = request.params.messages[0]?.content;
          prompts.push(first && !Array.isArray(first) && first.type === 'text' ? first.text : '');
          // Answer late and out of order, so the calls truly overlap.
          await new Promise((resolve) => setTimeout(resolve, 20 + ((i * 37) % 100)));
          return { role: 'assistant', model: 'm', content: { type: 'text', text: `answer-for-${i}` } };
        });
        return { client, prompts, i };
      }),
    );
    const keysBefore = hub.pool.keys().filter((key) => key.includes('probe'));
    const results = await Promise.all(
      sessions.map(({ client, i }) =>
        client.callTool({ name: 'probe__sample', arguments: { prompt: `question-from-${i}` } }),
      ),
    );
    results.forEach((result, i) => {
      expect(result.isError, textOf(result)).toBeFalsy();
      expect(textOf(result)).toBe(`Model said: answer-for-${i}`);
    });
    for (const { prompts, i } of sessions) expect(prompts).toEqual([`question-from-${i}`]);
    // One relay connection to the app-level HTTP server, shared by all 30 users.
    expect(hub.pool.keys().filter((key) => key.includes('probe'))).toEqual(keysBefore);
    expect(keysBefore.filter((key) => key.startsWith('relay|'))).toEqual(['relay|app|probe']);
  });
});
