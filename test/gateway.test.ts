import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { LightMyRequestResponse } from 'fastify';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { everythingStdioCommand } from './peers/everything.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';

/** Issue 6: the aggregated `/mcp` endpoint and the per-server endpoints, driven by the SDK's own client. */
describe('MCP endpoints', () => {
  let hub: TestHub;
  let probe: ProbeServer;
  let base: string;
  let alice: string;
  let bob: string;
  const clients: Client[] = [];

  async function connect(
    token: string,
    path = '/mcp',
  ): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}${path}`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'gateway-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  }
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body,
    });

  beforeAll(async () => {
    probe = await startProbeServer();
    const stdio = everythingStdioCommand();
    hub = await startTestHub({
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
interface:
  mcpServers: { use: true, create: true, share: true, public: false }
mcpServers:
  everything:
    command: ${JSON.stringify(stdio.command)}
    args: ${JSON.stringify(stdio.args)}
  probe:
    type: streamable-http
    url: ${probe.url}
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
    await probe?.stop();
  });

  it('lists every server’s tools as <server>__<tool> and calls them', async () => {
    const { client } = await connect(alice);
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(['everything__echo', 'everything__get-sum', 'probe__whoami', 'probe__echo']),
    );
    for (const name of names) expect(name.length).toBeLessThanOrEqual(64);
    const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'hi' } });
    expect(echo.content).toEqual([{ type: 'text', text: 'Echo: hi' }]);
    const probeEcho = await client.callTool({ name: 'probe__echo', arguments: { message: 'there' } });
    expect(probeEcho.content).toEqual([{ type: 'text', text: 'Echo: there' }]);
  });

  it('names are stable: the same list on a second session', async () => {
    const a = (await (await connect(alice)).client.listTools()).tools.map((t) => t.name).sort();
    const b = (await (await connect(bob)).client.listTools()).tools.map((t) => t.name).sort();
    expect(a).toEqual(b);
  });

  it('progress from the upstream reaches the downstream client', async () => {
    const { client } = await connect(alice);
    const seen: number[] = [];
    const result = await client.callTool(
      { name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
      undefined,
      { onprogress: (p) => seen.push(p.progress) },
    );
    expect(result.isError).not.toBe(true);
    // Every step, the last too: it leaves the upstream right before the result.
    expect(seen).toEqual([1, 2, 3]);
  });

  it('an unknown tool is a JSON-RPC error, not a crash', async () => {
    const { client } = await connect(alice);
    await expect(client.callTool({ name: 'nope__nothing', arguments: {} })).rejects.toThrow(/Unknown tool/);
  });

  it('the per-server endpoint is a transparent proxy: original names', async () => {
    const { client } = await connect(alice, '/mcp/servers/everything');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('echo');
    const echo = await client.callTool({ name: 'echo', arguments: { message: 'direct' } });
    expect(echo.content).toEqual([{ type: 'text', text: 'Echo: direct' }]);
    expect(client.getServerVersion()?.name).not.toBe('switchboard');
  });

  it('tells clients when the tool list changes upstream', async () => {
    const { client } = await connect(alice);
    await client.listTools();
    const changed = new Promise<void>((resolve) =>
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()),
    );
    // The hub holds a session with the probe; wait for its standalone stream before changing tools.
    for (let i = 0; i < 50 && probe.openStreams === 0; i++) await new Promise((r) => setTimeout(r, 50));
    probe.addTool('brand-new');
    await changed;
    await new Promise((r) => setTimeout(r, 200));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('probe__brand-new');
  });

  it('tells clients when a server is created, shared or deleted, and only those it concerns', async () => {
    const { client: aliceClient } = await connect(alice);
    const { client: bobClient } = await connect(bob);
    let [aliceChanges, bobChanges] = [0, 0];
    aliceClient.setNotificationHandler(ToolListChangedNotificationSchema, () => void (aliceChanges += 1));
    bobClient.setNotificationHandler(ToolListChangedNotificationSchema, () => void (bobChanges += 1));
    const api = (
      method: 'POST' | 'PUT' | 'DELETE',
      url: string,
      payload?: object,
    ): Promise<LightMyRequestResponse> =>
      hub.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${alice}` },
        ...(payload === undefined ? {} : { payload }),
      });
    const created = await api('POST', '/api/mcp/servers', {
      config: { type: 'streamable-http', url: probe.url, title: 'Team Probe' },
    });
    expect(created.statusCode).toBe(201);
    const name = created.json<{ serverName: string }>().serverName;
    await vi.waitFor(() => expect(aliceChanges).toBeGreaterThan(0));
    expect((await aliceClient.listTools()).tools.map((t) => t.name)).toContain(`${name}__echo`);
    expect(bobChanges).toBe(0); // not bob's server (yet)
    expect((await bobClient.listTools()).tools.map((t) => t.name)).not.toContain(`${name}__echo`);

    const shared = await api('PUT', `/api/mcp/servers/${name}/permissions`, {
      principals: [{ type: 'user', email: 'bob@example.com', role: 'viewer' }],
    });
    expect(shared.statusCode).toBe(200);
    await vi.waitFor(() => expect(bobChanges).toBeGreaterThan(0));
    expect((await bobClient.listTools()).tools.map((t) => t.name)).toContain(`${name}__echo`);

    const before = bobChanges;
    expect((await api('DELETE', `/api/mcp/servers/${name}`)).statusCode).toBe(200);
    await vi.waitFor(() => expect(bobChanges).toBeGreaterThan(before));
    expect((await bobClient.listTools()).tools.map((t) => t.name)).not.toContain(`${name}__echo`);
  });

  describe('security', () => {
    it('no token → 401 with WWW-Authenticate naming the resource metadata, which is served', async () => {
      const res = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
      expect(res.status).toBe(401);
      const header = res.headers.get('www-authenticate')!;
      expect(header).toMatch(
        /^Bearer resource_metadata="[^"]+\/\.well-known\/oauth-protected-resource\/mcp"$/,
      );
      const metadata = await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp`)).json();
      expect(metadata).toMatchObject({
        resource: expect.stringMatching(/\/mcp$/),
        authorization_servers: [expect.any(String)],
      });
    });

    it('AZ-09: a foreign Origin or Host → 403 before any JSON-RPC processing; IV-13: Origin null → 403', async () => {
      const init = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      });
      for (const headers of [{ origin: 'https://evil.example' }, { origin: 'null' }]) {
        const res = await post(init, { authorization: `Bearer ${alice}`, ...headers });
        expect(res.status, JSON.stringify(headers)).toBe(403);
      }
      // fetch will not send a forged Host; a raw request does, as a rebinding browser would.
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          `${base}/mcp`,
          {
            method: 'POST',
            headers: {
              host: 'attacker.rebind.example',
              authorization: `Bearer ${alice}`,
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
            },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(init);
      });
      expect(status).toBe(403);
    });

    it('AZ-07: another user’s session id is refused', async () => {
      const { transport } = await connect(alice);
      const sessionId = transport.sessionId!;
      const res = await post(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), {
        authorization: `Bearer ${bob}`,
        'mcp-session-id': sessionId,
      });
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('everything__echo');
    });

    it('IV-12: malformed JSON → -32700; a request without a session → 400', async () => {
      const bad = await post('{"jsonrpc": "2.0", ', { authorization: `Bearer ${alice}` });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });
      const noSession = await post(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }), {
        authorization: `Bearer ${alice}`,
      });
      expect(noSession.status).toBe(400);
    });

    it('IV-12: a request that is not JSON-RPC, inside a session, gets a spec error', async () => {
      const { transport } = await connect(alice);
      const res = await post(JSON.stringify({ jsonrpc: '1.0', id: { x: 1 } }), {
        authorization: `Bearer ${alice}`,
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': '2025-06-18',
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: expect.any(Number) } });
    });

    it('a server the caller may not use is not reachable through the per-server endpoint', async () => {
      const res = await fetch(`${base}/mcp/servers/hidden`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${alice}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'x', version: '1' },
          },
        }),
      });
      expect(res.status).toBe(404);
    });
  });
});
