import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  type ClientCapabilities,
  type Root,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackedChildGroups } from '../src/connections/index.js';
import { everythingStdioCommand } from './peers/everything.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { apiClient, startServersHub, type ServersTestHub } from './support/servers-hub.js';
import { textOf } from './support/mcp-helpers.js';

/** True while a process with this id exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resident memory of a process in KiB (Linux), from /proc. */
function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? 0);
}

/**
 * Issue 16: a downstream session whose client takes roots, sampling or elicitation gets its own
 * connection to a stdio server (server-everything), opened at first use with that client's
 * capabilities and closed with the session; clients that declare none of these share the pool's.
 */
describe('session-bound upstream connections', () => {
  let hub: ServersTestHub;
  let probe: ProbeServer;
  let base: string;
  const clients: Client[] = [];

  interface Connected {
    client: Client;
    transport: StreamableHTTPClientTransport;
  }

  /** An SDK client on `/mcp` (or a per-server endpoint) whose handlers are set before it connects. */
  async function connect(
    token: string,
    capabilities: ClientCapabilities,
    setup: (client: Client) => void = () => undefined,
    path = '/mcp',
  ): Promise<Connected> {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}${path}`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'session-bound-test', version: '1.0.0' }, { capabilities });
    setup(client);
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  }

  /** A client declaring roots that answers with whatever `roots()` holds at the time. */
  const withRoots = (token: string, roots: () => Root[], path?: string) =>
    connect(
      token,
      { roots: { listChanged: true } },
      (client) => client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: roots() })),
      path,
    );

  /** The pool keys of one downstream session's own connections. */
  const ownKeys = (sessionId: string | undefined) =>
    hub.pool.keys().filter((key) => key.startsWith(`relay|session|${String(sessionId)}|`));

  beforeAll(async () => {
    const stdio = everythingStdioCommand();
    const asker = fileURLToPath(new URL('./peers/sampling-tools-stdio-server.mjs', import.meta.url));
    probe = await startProbeServer();
    hub = await startServersHub({
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: false } }
mcpServers:
  everything:
    command: ${JSON.stringify(stdio.command)}
    args: ${JSON.stringify(stdio.args)}
  asker:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(asker)}]
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

  it("each session's roots reach the server from its start, and a roots list_changed update reaches it", async () => {
    // Two sessions of one user, each with roots of its own.
    const token = await hub.userToken('roots@example.com');
    let rootsA: Root[] = [{ uri: 'file:///work/alpha', name: 'alpha' }];
    const a = await withRoots(token, () => rootsA);
    const b = await withRoots(token, () => [{ uri: 'file:///work/beta', name: 'beta' }]);
    // Listing tools (the shared list, read from the shared connection the first time) opens none of its own.
    expect((await a.client.listTools()).tools.map((t) => t.name)).toContain('everything__get-roots-list');
    expect(ownKeys(a.transport.sessionId)).toEqual([]);
    // server-everything asks roots/list as its session starts and keeps the answer for the session.
    const seenByA = textOf(await a.client.callTool({ name: 'everything__get-roots-list', arguments: {} }));
    const seenByB = textOf(await b.client.callTool({ name: 'everything__get-roots-list', arguments: {} }));
    expect(seenByA).toContain('file:///work/alpha');
    expect(seenByA).not.toContain('beta');
    expect(seenByB).toContain('file:///work/beta');
    expect(seenByB).not.toContain('alpha');

    // The client's notifications/roots/list_changed reaches the server, which asks again outside any call.
    rootsA = [{ uri: 'file:///work/gamma', name: 'gamma' }];
    await a.client.sendRootsListChanged();
    await expect
      .poll(
        async () => textOf(await a.client.callTool({ name: 'everything__get-roots-list', arguments: {} })),
        { timeout: 10_000 },
      )
      .toContain('file:///work/gamma');
    const stillB = textOf(await b.client.callTool({ name: 'everything__get-roots-list', arguments: {} }));
    expect(stillB).toContain('file:///work/beta');
    expect(stillB).not.toContain('gamma');
  });

  it('roots reach the server through the per-server endpoint, which offers what this client can do', async () => {
    const token = await hub.userToken('proxied-roots@example.com');
    const { client } = await withRoots(
      token,
      () => [{ uri: 'file:///work/delta', name: 'delta' }],
      '/mcp/servers/everything',
    );
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('get-roots-list');
    // The upstream sees this client's capabilities (roots only), not the hub's full set.
    expect(names).not.toContain('trigger-sampling-request');
    const seen = textOf(await client.callTool({ name: 'get-roots-list', arguments: {} }));
    expect(seen).toContain('file:///work/delta');
  });

  it('sampling, form and URL elicitation on stdio reach their own clients while other sessions have calls in flight', async () => {
    const asked = { busy: 0, sampler: 0, elicitor: 0, linker: 0 };
    const busy = await connect(
      await hub.userToken('busy@example.com'),
      { sampling: {}, elicitation: { form: {} } },
      (client) => {
        client.setRequestHandler(CreateMessageRequestSchema, () => {
          asked.busy += 1;
          return { role: 'assistant', model: 'm', content: { type: 'text', text: 'from busy' } };
        });
        client.setRequestHandler(ElicitRequestSchema, () => {
          asked.busy += 1;
          return { action: 'cancel' };
        });
      },
    );
    // A client that declares nothing keeps the shared connection; its call is in flight there.
    const plain = await connect(await hub.userToken('plain@example.com'), {});
    const sampler = await connect(await hub.userToken('sampler@example.com'), { sampling: {} }, (client) =>
      client.setRequestHandler(CreateMessageRequestSchema, () => {
        asked.sampler += 1;
        return { role: 'assistant', model: 'm', content: { type: 'text', text: 'from sampler' } };
      }),
    );
    const elicitor = await connect(
      await hub.userToken('elicitor@example.com'),
      { elicitation: { form: {} } },
      (client) =>
        client.setRequestHandler(ElicitRequestSchema, () => {
          asked.elicitor += 1;
          return { action: 'decline' };
        }),
    );
    const linker = await connect(
      await hub.userToken('linker@example.com'),
      { elicitation: { url: {} } },
      (client) =>
        client.setRequestHandler(ElicitRequestSchema, (request) => {
          asked.linker += 1;
          expect(request.params).toMatchObject({ mode: 'url', url: 'https://example.com/approve' });
          return { action: 'accept' };
        }),
    );

    /** A long call, and a promise that it is under way (its first progress arrived). */
    const longCall = (client: Client) => {
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      const done = client.callTool(
        { name: 'everything__trigger-long-running-operation', arguments: { duration: 3, steps: 6 } },
        undefined,
        { onprogress: () => started(), timeout: 30_000 },
      );
      return { running, done };
    };
    const busyCall = longCall(busy.client);
    const plainCall = longCall(plain.client);
    await Promise.all([busyCall.running, plainCall.running]);

    const [sampled, elicited, linked] = await Promise.all([
      sampler.client.callTool({
        name: 'everything__trigger-sampling-request',
        arguments: { prompt: 'whose?', maxTokens: 5 },
      }),
      elicitor.client.callTool({ name: 'everything__trigger-elicitation-request', arguments: {} }),
      linker.client.callTool({
        name: 'everything__trigger-url-elicitation',
        arguments: { url: 'https://example.com/approve' },
      }),
    ]);
    expect(sampled.isError, textOf(sampled)).toBeFalsy();
    expect(textOf(sampled)).toContain('from sampler');
    expect(elicited.isError, textOf(elicited)).toBeFalsy();
    expect(textOf(elicited)).toMatch(/declined/i);
    expect(linked.isError, textOf(linked)).toBeFalsy();
    expect(textOf(linked)).toContain('User completed the URL elicitation');
    expect(asked).toEqual({ busy: 0, sampler: 1, elicitor: 1, linker: 1 });
    expect((await busyCall.done).isError).toBeFalsy();
    expect((await plainCall.done).isError).toBeFalsy();
  });

  it("sampling with tools reaches a stdio server only as the client declared it, and the model's tool choice returns", async () => {
    const { client } = await connect(
      await hub.userToken('tool-sampler@example.com'),
      { sampling: { tools: {} } },
      (c) =>
        c.setRequestHandler(CreateMessageRequestSchema, (request) => {
          expect(request.params.tools?.map((t) => t.name)).toEqual(['lookup']);
          return {
            role: 'assistant',
            model: 'm',
            stopReason: 'toolUse',
            content: [{ type: 'tool_use', id: 'call-1', name: 'lookup', input: {} }],
          };
        }),
    );
    const result = await client.callTool({ name: 'asker__ask-with-tools', arguments: { question: 'word?' } });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toBe('Model chose: lookup');
  });

  it("a session's own process ends when the session is deleted; N such sessions cost N processes", async () => {
    const token = await hub.userToken('lifecycle@example.com');
    const sessions: Connected[] = [];
    const groupsBefore = new Set(trackedChildGroups());
    const n = 3;
    for (let i = 0; i < n; i += 1) {
      const session = await connect(token, { sampling: {} });
      // Nothing is spawned for a session until it uses the server.
      expect(ownKeys(session.transport.sessionId)).toEqual([]);
      const echoed = await session.client.callTool({
        name: 'everything__echo',
        arguments: { message: 'hi' },
      });
      expect(textOf(echoed)).toContain('hi');
      expect(ownKeys(session.transport.sessionId)).toHaveLength(1);
      sessions.push(session);
    }
    const added = trackedChildGroups().filter((pid) => !groupsBefore.has(pid));
    expect(added).toHaveLength(n);
    const rss = added.map(rssKiB);
    // The figure the docs quote: resident memory of one session's own server-everything process.
    console.info(`session-bound processes: ${n}, RSS KiB each: ${rss.join(', ')}`);

    const [first, ...others] = sessions;
    if (!first) throw new Error('no session');
    const firstKeys = ownKeys(first.transport.sessionId);
    await first.transport.terminateSession(); // DELETE /mcp
    await expect.poll(() => ownKeys(first.transport.sessionId)).toEqual([]);
    await expect.poll(() => added.filter(alive).length, { timeout: 10_000 }).toBe(n - 1);
    expect(hub.pool.keys()).not.toContain(firstKeys[0]);
    // The other sessions keep theirs.
    for (const other of others) expect(ownKeys(other.transport.sessionId)).toHaveLength(1);
  });

  it("a session's own connection to a server whose access was revoked closes, and the next call is refused", async () => {
    const api = apiClient(hub.app);
    const owner = await hub.userToken('owner@example.com');
    const guestToken = await hub.userToken('guest@example.com');
    const created = await api.post('/api/mcp/servers', owner, {
      config: { type: 'streamable-http', url: probe.url, title: 'Bound Probe' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const name = created.json<{ serverName: string }>().serverName;
    const share = (principals: object[]) =>
      api.put(`/api/mcp/servers/${name}/permissions`, owner, { principals });
    expect((await share([{ type: 'user', email: 'guest@example.com', role: 'viewer' }])).statusCode).toBe(
      200,
    );

    // Over streamable HTTP a client declaring roots gets a connection of its own (roots/list may come outside any call).
    const guest = await withRoots(guestToken, () => [{ uri: 'file:///work/guest', name: 'guest' }]);
    const tool = `${name}__echo`;
    expect(textOf(await guest.client.callTool({ name: tool, arguments: { message: 'before' } }))).toBe(
      'Echo: before',
    );
    expect(ownKeys(guest.transport.sessionId)).toHaveLength(1);

    expect((await share([])).statusCode).toBe(200);
    await expect.poll(() => ownKeys(guest.transport.sessionId)).toEqual([]);
    await expect(guest.client.callTool({ name: tool, arguments: { message: 'after' } })).rejects.toThrow(
      /Unknown tool/,
    );
    expect(ownKeys(guest.transport.sessionId)).toEqual([]);
  });
});
