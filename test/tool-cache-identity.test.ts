import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKeyOfServer } from '../src/upstreams/index.js';
import { startEverything, type RunningEverything } from './peers/everything.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { apiClient, startServersHub, type ApiClient, type ServersTestHub } from './support/servers-hub.js';

const ROLES = `
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: true } }
`;

/**
 * A cached tool list names the server it was listed from: a user who reached a server through the
 * public share (no ACL row names them, so a delete drops no entry of theirs) and holds no connection
 * never sees the deleted server's tools under a new server of the same name.
 */
describe('cached tool lists belong to the server they were listed from', () => {
  let hub: ServersTestHub;
  let api: ApiClient;
  let probe: ProbeServer;
  let everything: RunningEverything;
  let base: string;
  const tokens = { alice: '', bob: '' };
  let bobId = '';
  const clients: Client[] = [];

  const mcpClient = async (token: string): Promise<Client> => {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'tool-cache-identity', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    return client;
  };
  /** Creates `x` (alice's) at `url` and shares it with everyone. */
  const createPublicX = async (url: string): Promise<void> => {
    const created = await api.post('/api/mcp/servers', tokens.alice, {
      config: { type: 'streamable-http', url, title: 'X' },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ serverName: 'x' });
    const shared = await api.put('/api/mcp/servers/x/permissions', tokens.alice, {
      public: 'viewer',
      principals: [],
    });
    expect(shared.statusCode, shared.body).toBe(200);
  };
  /** The tool names the REST listing gives bob for `x`. */
  const restTools = async (): Promise<string[]> => {
    const res = await api.get('/api/mcp/tools', tokens.bob);
    expect(res.statusCode).toBe(200);
    const servers = res.json<{ servers: Record<string, { tools: Array<{ name: string }> }> }>().servers;
    return (servers.x?.tools ?? []).map((t) => t.name);
  };
  /** The upstream tool names of `x` in bob's `/mcp` tools/list (`<server>__<tool>`). */
  const mcpTools = async (client: Client): Promise<string[]> => {
    const { tools } = await client.listTools();
    return tools.filter((t) => t.name.startsWith('x__')).map((t) => t.name.slice('x__'.length));
  };

  beforeAll(async () => {
    [probe, everything] = await Promise.all([startProbeServer(), startEverything('streamableHttp')]);
    const allowed = [probe.url, everything.url].map((u) => `'127.0.0.1:${new URL(u).port}'`).join(', ');
    hub = await startServersHub({ yaml: `mcpSettings:\n  allowedDomains: [${allowed}]\n${ROLES}` });
    api = apiClient(hub.app);
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    tokens.alice = await hub.userToken('alice@example.com');
    tokens.bob = await hub.userToken('bob@example.com');
    bobId = (await hub.repos.users.findByEmail('bob@example.com'))!.id;
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.dispose();
    await Promise.all([probe?.stop(), everything?.stop()]);
  });

  it('after x is deleted and recreated elsewhere, a public viewer without a connection sees the new tools, never the old', async () => {
    await createPublicX(probe.url);
    // Bob lists x's tools (A) on both paths, then lets go of his connections: the lists stay cached.
    const call = await api.post('/api/mcp/x/tools/echo/call', tokens.bob, { arguments: { message: 'hi' } });
    expect(call.statusCode, call.body).toBe(200);
    const toolsA = await restTools();
    const first = await mcpClient(tokens.bob);
    expect(await mcpTools(first)).toEqual(expect.arrayContaining(toolsA));
    await first.close();
    expect((await api.post('/api/mcp/x/disconnect', tokens.bob)).statusCode).toBe(200);
    expect(hub.pool.keys().filter((key) => isKeyOfServer(key, 'x'))).toEqual([]);
    expect(await hub.kv.get(`tools:user|${bobId}|x`)).not.toBeNull();
    expect(await hub.kv.get(`tools:relay|user|${bobId}|x`)).not.toBeNull();

    // Alice deletes x and makes a new x on another MCP server (B).
    expect((await api.del('/api/mcp/servers/x', tokens.alice)).statusCode).toBe(200);
    await createPublicX(everything.url);

    const probeOnly = toolsA.filter((name) => name !== 'echo'); // both servers have an echo
    expect(probeOnly.length).toBeGreaterThan(0);
    // REST: bob has no connection to the new x, so it is listed without tools, not with A's.
    expect(await restTools()).toEqual([]);
    // /mcp: the stale list is a miss, so the new x is listed from a connection.
    const second = await mcpClient(tokens.bob);
    const fromMcp = await mcpTools(second);
    expect(fromMcp).toContain('get-sum');
    for (const name of probeOnly) expect(fromMcp).not.toContain(name);
    // Once bob uses the new x, REST lists B.
    const again = await api.post('/api/mcp/x/tools/echo/call', tokens.bob, { arguments: { message: 'hi' } });
    expect(again.statusCode, again.body).toBe(200);
    const toolsB = await restTools();
    expect(toolsB).toContain('get-sum');
    for (const name of probeOnly) expect(toolsB).not.toContain(name);
  });
});
