import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ErrorCode,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  PromptListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  type ClientCapabilities,
  type Root,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdioCommand, startEverything, type RunningEverything } from './peers/everything.js';
import { featureMatrixCommand } from './peers/feature-matrix.js';
import { pagedContentCommand } from './peers/paged-content.js';
import { textOf } from './support/mcp-helpers.js';
import { startTestHub, type TestHub } from './support/hub.js';

const ASKER = new URL('./peers/sampling-tools-stdio-server.mjs', import.meta.url).pathname;
const VERSIONS = ['2025-03-26', '2025-06-18', '2025-11-25'] as const;

/**
 * Issue 16's feature table: the cells of MCP 2025-11-25 no other test proves, through `/mcp` and
 * `/mcp/servers/:name` (and REST where a tool call shows it), against real stdio servers.
 */
describe('the MCP feature table, cell by cell', () => {
  let hub: TestHub;
  let base: string;
  let alice: string;
  let bob: string;
  let sse: RunningEverything;
  let streamable: RunningEverything;
  const clients: Client[] = [];

  /** An SDK client on `path` (as alice unless `token` says), with `setup` run before it connects (request handlers). */
  async function connect(
    path: string,
    capabilities: ClientCapabilities = {},
    setup: (client: Client) => void = () => undefined,
    token: string = alice,
  ): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}${path}`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'feature-matrix', version: '1.0.0' }, { capabilities });
    setup(client);
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  /** Every tool, page by page: the per-server endpoint pages as the upstream does, /mcp gives one page. */
  async function allTools(client: Client): Promise<Tool[]> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return tools;
  }

  /** One JSON-RPC message POSTed raw to `path`; the answer's JSON-RPC result (JSON or one SSE event). */
  async function post(
    path: string,
    message: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<{ sessionId: string | null; result: Record<string, unknown> | undefined }> {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${alice}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: '2.0', ...message }),
    });
    const body = await res.text();
    expect(res.status, body).toBeLessThan(300);
    const data = body
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => line.slice('data: '.length));
    const json = data.length > 0 ? data.join('') : body;
    const parsed = json === '' ? {} : (JSON.parse(json) as { result?: Record<string, unknown> });
    return { sessionId: res.headers.get('mcp-session-id'), result: parsed.result };
  }

  beforeAll(async () => {
    const matrix = featureMatrixCommand();
    const legacy = featureMatrixCommand('2025-03-26');
    const paged = pagedContentCommand();
    const everything = everythingStdioCommand();
    [sse, streamable] = await Promise.all([startEverything('sse'), startEverything('streamableHttp')]);
    hub = await startTestHub({
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  matrix:
    command: ${JSON.stringify(matrix.command)}
    args: ${JSON.stringify(matrix.args)}
  legacy:
    command: ${JSON.stringify(legacy.command)}
    args: ${JSON.stringify(legacy.args)}
  paged:
    command: ${JSON.stringify(paged.command)}
    args: ${JSON.stringify(paged.args)}
  # startup: false makes it user-level: each user has a connection of their own.
  own-paged:
    command: ${JSON.stringify(paged.command)}
    args: ${JSON.stringify(paged.args)}
    startup: false
  everything:
    command: ${JSON.stringify(everything.command)}
    args: ${JSON.stringify(everything.args)}
  asker:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(ASKER)}]
  everything-sse:
    type: sse
    url: ${sse.url}
  everything-http:
    type: streamable-http
    url: ${streamable.url}
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    alice = await hub.userToken('alice@example.com');
    bob = await hub.userToken('bob@example.com');
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.dispose();
    await Promise.all([sse?.stop(), streamable?.stop()]);
  });

  describe.each(['everything-sse', 'everything-http'])('upstream %s', (name) => {
    it.each(['/mcp', `/mcp/servers/${name}`])(
      'through %s: a call answers, with its progress',
      async (path) => {
        const client = await connect(path);
        const tool = (t: string) => (path === '/mcp' ? `${name}__${t}` : t);
        const echo = await client.callTool({ name: tool('echo'), arguments: { message: 'over the wire' } });
        expect(textOf(echo)).toBe('Echo: over the wire');
        const progress: number[] = [];
        const long = await client.callTool(
          { name: tool('trigger-long-running-operation'), arguments: { duration: 1, steps: 3 } },
          undefined,
          { onprogress: (p) => progress.push(p.progress) },
        );
        expect(textOf(long)).toContain('Long running operation completed');
        expect(progress).toEqual([1, 2, 3]);
      },
    );
  });

  describe.each(['/mcp', '/mcp/servers/matrix'])('%s', (path) => {
    const tool = (name: string) => (path === '/mcp' ? `matrix__${name}` : name);

    it.each(VERSIONS)('a client asking for %s gets it, and its session works', async (version) => {
      const init = await post(path, {
        id: 1,
        method: 'initialize',
        params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'old', version: '1' } },
      });
      expect(init.result?.protocolVersion).toBe(version);
      const session = { 'mcp-session-id': init.sessionId!, 'mcp-protocol-version': version };
      await post(path, { method: 'notifications/initialized' }, session);
      const listed = await post(path, { id: 2, method: 'tools/list' }, session);
      const names = (listed.result?.tools as Array<{ name: string }>).map((t) => t.name);
      expect(names).toContain(tool('forecast'));
      await fetch(`${base}${path}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${alice}`, ...session },
      });
    });

    it('a client asking for a version the hub does not know is answered with 2025-11-25', async () => {
      const init = await post(path, {
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2023-01-01',
          capabilities: {},
          clientInfo: { name: 'odd', version: '1' },
        },
      });
      expect(init.result?.protocolVersion).toBe('2025-11-25');
    });

    it('ping both ways: the client pings the hub; the upstream pings the hub in a call', async () => {
      const client = await connect(path);
      await expect(client.ping()).resolves.toEqual({});
      expect(textOf(await client.callTool({ name: tool('ping-client'), arguments: {} }))).toBe('pong');
    });

    it('a tool keeps its title, icons, annotations and output schema; its structured content returns', async () => {
      const client = await connect(path);
      const listed = await client.listTools();
      // The per-server endpoint pages as the upstream does; /mcp gives every page at once.
      let tools = listed.tools;
      for (let cursor = listed.nextCursor; cursor !== undefined;) {
        const next = await client.listTools({ cursor });
        tools = [...tools, ...next.tools];
        cursor = next.nextCursor;
      }
      expect(tools.find((t) => t.name === tool('forecast'))).toMatchObject({
        title: 'Forecast',
        icons: [{ src: 'https://example.com/sun.png', mimeType: 'image/png', sizes: ['48x48'] }],
        annotations: { readOnlyHint: true, openWorldHint: false },
        outputSchema: { type: 'object', required: ['city', 'celsius'] },
      });
      // The SDK client checks structuredContent against the listed outputSchema.
      const result = await client.callTool({ name: tool('forecast'), arguments: { city: 'Oslo' } });
      expect(result.structuredContent).toEqual({ city: 'Oslo', celsius: 21 });
    });

    it('cancelling a call reaches the upstream, which stops waiting', async () => {
      const client = await connect(path);
      const before = Number(textOf(await client.callTool({ name: tool('cancellations'), arguments: {} })));
      const abort = new AbortController();
      let started = (): void => undefined;
      const running = new Promise<void>((resolve) => (started = resolve));
      const call = client.callTool({ name: tool('wait-for-cancel'), arguments: {} }, undefined, {
        signal: abort.signal,
        onprogress: () => started(),
      });
      await running; // the upstream runs the call
      abort.abort('the user gave up');
      await expect(call).rejects.toThrow();
      await expect
        .poll(async () =>
          Number(textOf(await client.callTool({ name: tool('cancellations'), arguments: {} }))),
        )
        .toBe(before + 1);
    });
  });

  describe('pagination', () => {
    it('/mcp/servers/matrix passes tools/list cursors through, page by page', async () => {
      const client = await connect('/mcp/servers/matrix');
      const first = await client.listTools();
      expect(first.tools.map((t) => t.name)).toEqual(['forecast', 'wait-for-cancel']);
      expect(first.nextCursor).toBe('2');
      const second = await client.listTools({ cursor: first.nextCursor });
      expect(second.tools.map((t) => t.name)).toEqual(['cancellations', 'ping-client']);
    });

    it('/mcp follows every upstream page of tools, resources and templates into one list', async () => {
      const client = await connect('/mcp');
      const tools = await client.listTools();
      expect(tools.nextCursor).toBeUndefined();
      // Six tools over three upstream pages.
      expect(tools.tools.map((t) => t.name)).toEqual(
        expect.arrayContaining(
          ['forecast', 'wait-for-cancel', 'cancellations', 'ping-client', 'protocol', 'change-tools'].map(
            (name) => `matrix__${name}`,
          ),
        ),
      );
      const resources = (await client.listResources()).resources.filter((r) =>
        r.uri.startsWith('switchboard://paged/'),
      );
      expect(resources).toHaveLength(5);
      const templates = (await client.listResourceTemplates()).resourceTemplates.filter((t) =>
        t.uriTemplate.startsWith('switchboard://paged/'),
      );
      expect(templates).toHaveLength(3);
    });

    it('/mcp/servers/paged passes resources/list and prompts/list cursors through', async () => {
      const client = await connect('/mcp/servers/paged');
      const first = await client.listResources();
      expect(first.resources).toHaveLength(2);
      const second = await client.listResources({ cursor: first.nextCursor! });
      expect(second.resources.map((r) => r.uri)).toEqual(['paged://item/3', 'paged://item/4']);
      const prompts = await client.listPrompts();
      expect(prompts.nextCursor).toBe('2');
      expect((await client.listPrompts({ cursor: prompts.nextCursor })).prompts).toHaveLength(1);
    });

    it('/mcp follows every upstream page of prompts into one list', async () => {
      const client = await connect('/mcp');
      await client.listTools(); // prompts are listed from the servers connected
      const listed = await client.listPrompts();
      expect(listed.nextCursor).toBeUndefined();
      // Three prompts over two upstream pages.
      const paged = listed.prompts.map((p) => p.name).filter((name) => name.startsWith('paged__'));
      expect(paged.sort()).toEqual(['paged__first', 'paged__second', 'paged__third']);
    });

    it('/mcp lists the prompts of a per-user server the caller has not connected yet, as resources do', async () => {
      // A user of their own, so nothing has connected `own-paged` for them before this list.
      const client = await connect('/mcp', {}, undefined, await hub.userToken('prompts-first@example.com'));
      const listed = await client.listPrompts();
      const own = listed.prompts.map((p) => p.name).filter((name) => name.startsWith('own-paged__'));
      expect(own.sort()).toEqual(['own-paged__first', 'own-paged__second', 'own-paged__third']);
    });
  });

  describe('_meta', () => {
    it('/mcp/servers/paged: request params _meta reach the upstream, and its result _meta returns', async () => {
      const client = await connect('/mcp/servers/paged');
      const result = await client.callTool({
        name: 'meta-echo',
        arguments: {},
        _meta: { 'example.com/trace': 'trace-1' },
      });
      expect(result._meta).toMatchObject({ received: { 'example.com/trace': 'trace-1' } });
    });

    it('/mcp: request params _meta reach the upstream on tools/call, resources/read and prompts/get, the hub’s own progressToken in it', async () => {
      const client = await connect('/mcp');
      const meta = { 'example.com/trace': 'trace-2' };
      // The client's token names a request of the client's session; upstream, the hub's own stands.
      const sent = { ...meta, progressToken: 'client-token' };
      const called = await client.callTool({ name: 'paged__meta-echo', arguments: {}, _meta: sent });
      const read = await client.readResource({ uri: 'switchboard://paged/paged://meta', _meta: sent });
      const prompt = await client.getPrompt({ name: 'paged__first', _meta: sent });
      for (const result of [called, read, prompt]) {
        expect(result._meta).toMatchObject({ received: meta });
        expect((result._meta?.received as Record<string, unknown>).progressToken).not.toBe('client-token');
      }
    });

    it('/mcp: the result _meta of the upstream returns', async () => {
      const client = await connect('/mcp');
      const result = await client.callTool({ name: 'paged__meta-echo', arguments: {} });
      expect(result._meta).toMatchObject({ received: expect.any(Object) });
    });
  });

  describe('logging', () => {
    /** A client on `path` (as `token`, alice by default) that keeps the data of every log message it hears. */
    async function listening(
      path: string,
      token: string = alice,
      capabilities: ClientCapabilities = {},
    ): Promise<{ client: Client; heard: unknown[] }> {
      const heard: unknown[] = [];
      const setup = (c: Client) => {
        c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void heard.push(n.params.data));
        if (capabilities.roots) c.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [] }));
      };
      return { client: await connect(path, capabilities, setup, token), heard };
    }

    it('/mcp: logging/setLevel reaches the caller’s own connections, and the messages of a call at that level reach the client', async () => {
      const { client, heard } = await listening('/mcp');
      await client.listTools(); // connects the caller's own (user-level) server
      await client.setLoggingLevel('error');
      expect(textOf(await client.callTool({ name: 'own-paged__chatty', arguments: {} }))).toBe(
        'level: error',
      );
      await client.setLoggingLevel('debug');
      expect(textOf(await client.callTool({ name: 'own-paged__chatty', arguments: {} }))).toBe(
        'level: debug',
      );
      await expect
        .poll(() => heard)
        .toEqual(['error message', 'debug message', 'info message', 'error message']);
    });

    it('/mcp: one user’s logging/setLevel leaves an app-level server’s shared connection alone: another user hears it at the level they had', async () => {
      const bobs = await listening('/mcp', bob);
      const chatty = () => bobs.client.callTool({ name: 'paged__chatty', arguments: {} }).then(textOf);
      const before = await chatty();
      const { client } = await listening('/mcp');
      await client.listTools();
      await expect(
        client.setLoggingLevel(before === 'level: critical' ? 'alert' : 'critical'),
      ).resolves.toEqual({});
      expect(await chatty()).toBe(before);
    });

    it('/mcp/servers/own-paged: logging/setLevel reaches the caller’s own connection, and the messages of a call at that level reach the client', async () => {
      const { client, heard } = await listening('/mcp/servers/own-paged');
      await client.setLoggingLevel('error');
      expect(textOf(await client.callTool({ name: 'chatty', arguments: {} }))).toBe('level: error');
      await client.setLoggingLevel('debug');
      expect(textOf(await client.callTool({ name: 'chatty', arguments: {} }))).toBe('level: debug');
      await expect
        .poll(() => heard)
        .toEqual(['error message', 'debug message', 'info message', 'error message']);
    });

    it('/mcp/servers/paged: logging/setLevel on the connection every user shares is refused with a JSON-RPC error saying why', async () => {
      const { client } = await listening('/mcp/servers/paged');
      const refused = client.setLoggingLevel('debug');
      await expect(refused).rejects.toMatchObject({
        code: ErrorCode.InvalidRequest,
        message: expect.stringContaining('one connection shared by every user'),
        data: { reason: 'shared-connection' },
      });
    });

    it('/mcp/servers/paged: a client with roots has a connection of its own to the app-level server, whose level it sets', async () => {
      const { client, heard } = await listening('/mcp/servers/paged', alice, { roots: {} });
      await client.setLoggingLevel('error');
      expect(textOf(await client.callTool({ name: 'chatty', arguments: {} }))).toBe('level: error');
      await expect.poll(() => heard).toEqual(['error message']);
    });

    it('/mcp/servers/paged: the log messages of a call reach the client', async () => {
      const { client, heard } = await listening('/mcp/servers/paged');
      await client.callTool({ name: 'chatty', arguments: {} });
      await expect.poll(() => heard).toContain('error message');
    });
  });

  it('/mcp/servers/matrix: the upstream’s tools/list_changed reaches the client, and the new tool is listed', async () => {
    const client = await connect('/mcp/servers/matrix');
    let heard = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void (heard += 1));
    const added = textOf(await client.callTool({ name: 'change-tools', arguments: {} }));
    await expect.poll(() => heard).toBeGreaterThan(0);
    expect((await allTools(client)).map((t) => t.name)).toContain(added);
  });

  it.each(['/mcp', '/mcp/servers/matrix'])(
    '%s: the upstream’s prompts/list_changed reaches the client, and the new prompt is listed',
    async (path) => {
      const client = await connect(path);
      const name = (prompt: string) => (path === '/mcp' ? `matrix__${prompt}` : prompt);
      let heard = 0;
      client.setNotificationHandler(PromptListChangedNotificationSchema, () => void (heard += 1));
      // The tool answers `<n> prompts`; the one it added is `added-<n - 1>`.
      const count = Number.parseInt(
        textOf(await client.callTool({ name: name('change-prompts'), arguments: {} })),
      );
      await expect.poll(() => heard).toBeGreaterThan(0);
      expect((await client.listPrompts()).prompts.map((p) => p.name)).toContain(name(`added-${count - 1}`));
    },
  );

  it('an upstream speaking 2025-03-26 works through REST, /mcp and /mcp/servers/legacy', async () => {
    const rest = await fetch(`${base}/api/mcp/legacy/tools/protocol/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ arguments: {} }),
    });
    expect(rest.status).toBe(200);
    expect(textOf(await rest.json())).toBe('2025-03-26');
    const aggregated = await connect('/mcp');
    const viaMcp = await aggregated.callTool({ name: 'legacy__forecast', arguments: { city: 'Rome' } });
    expect(viaMcp.structuredContent).toEqual({ city: 'Rome', celsius: 21 });
    const proxied = await connect('/mcp/servers/legacy');
    expect(textOf(await proxied.callTool({ name: 'protocol', arguments: {} }))).toBe('2025-03-26');
  });

  it('REST: a tool call answers with its structured content and is pinged in a call; the listing shows icons and every page', async () => {
    const res = await fetch(`${base}/api/mcp/matrix/tools/forecast/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ arguments: { city: 'Lima' } }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ structuredContent: { city: 'Lima', celsius: 21 } });
    // The upstream pings the hub's client during the call; the hub answers.
    const pinged = await fetch(`${base}/api/mcp/matrix/tools/ping-client/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ arguments: {} }),
    });
    expect(textOf(await pinged.json())).toBe('pong');
    const listing = await fetch(`${base}/api/mcp/tools`, { headers: { authorization: `Bearer ${alice}` } });
    type Listing = { servers: Record<string, { tools: Array<Record<string, unknown>> }> };
    const matrix = ((await listing.json()) as Listing).servers.matrix!.tools;
    const forecast = matrix.find((t) => t.name === 'forecast');
    expect(forecast).toMatchObject({ icons: [{ src: 'https://example.com/sun.png' }], title: 'Forecast' });
    // The hub read every page of the upstream's tools/list: the third page's tools are there too.
    expect(matrix.map((t) => t.name)).toEqual(expect.arrayContaining(['protocol', 'change-tools']));
  });

  it('/mcp: a prompt is got filled in, and its argument completes with context, by the exposed name', async () => {
    const client = await connect('/mcp');
    const prompt = await client.getPrompt({
      name: 'everything__completable-prompt',
      arguments: { department: 'Sales', name: 'Eve' },
    });
    expect(prompt.messages[0]?.content).toMatchObject({ text: expect.stringContaining('promote Eve') });
    const completed = await client.complete({
      ref: { type: 'ref/prompt', name: 'everything__completable-prompt' },
      argument: { name: 'name', value: 'E' },
      context: { arguments: { department: 'Sales' } },
    });
    expect(completed.completion.values).toEqual(['Eve']);
  });

  it('/mcp/servers/asker: sampling with tools reaches the client that declared it, and its tool choice returns', async () => {
    const client = await connect('/mcp/servers/asker', { sampling: { tools: {} } }, (c) =>
      c.setRequestHandler(CreateMessageRequestSchema, (request) => {
        expect(request.params.toolChoice).toEqual({ mode: 'auto' });
        return {
          role: 'assistant',
          model: 'm',
          stopReason: 'toolUse',
          content: [{ type: 'tool_use', id: 'call-1', name: request.params.tools![0]!.name, input: {} }],
        };
      }),
    );
    const result = await client.callTool({ name: 'ask-with-tools', arguments: { question: 'word?' } });
    expect(textOf(result)).toBe('Model chose: lookup');
  });

  it('/mcp/servers/everything: the client’s roots/list_changed reaches the server, which lists the new roots', async () => {
    let roots: Root[] = [{ uri: 'file:///work/first', name: 'first' }];
    const client = await connect('/mcp/servers/everything', { roots: { listChanged: true } }, (c) =>
      c.setRequestHandler(ListRootsRequestSchema, () => ({ roots })),
    );
    const seen = () => client.callTool({ name: 'get-roots-list', arguments: {} }).then(textOf);
    expect(await seen()).toContain('file:///work/first');
    roots = [{ uri: 'file:///work/second', name: 'second' }];
    await client.sendRootsListChanged();
    await expect.poll(seen, { timeout: 10_000 }).toContain('file:///work/second');
  });

  it('/mcp/servers/everything: a URL elicitation reaches the client, and its answer returns', async () => {
    const client = await connect('/mcp/servers/everything', { elicitation: { url: {} } }, (c) =>
      c.setRequestHandler(ElicitRequestSchema, (request) => {
        expect(request.params).toMatchObject({ mode: 'url', url: 'https://example.com/approve' });
        return { action: 'accept' };
      }),
    );
    const result = await client.callTool({
      name: 'trigger-url-elicitation',
      arguments: { url: 'https://example.com/approve' },
    });
    expect(textOf(result)).toContain('User completed the URL elicitation');
  });
});
