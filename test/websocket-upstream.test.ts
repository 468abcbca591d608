import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfigText } from '../src/config/index.js';
import { startWebSocketMcpServer, type WebSocketMcpServer } from './peers/websocket-mcp-server.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { textOf } from './support/mcp-helpers.js';

// Issue 16: `type: websocket` connects on Node 20 (through `ws`), through the egress guard.
const LIMIT = 64 * 1024;

/** A hub listening on loopback, with a user's bearer token. */
interface RunningHub {
  hub: TestHub;
  base: string;
  token: string;
}

async function startHub(yaml: string, email: string): Promise<RunningHub> {
  const hub = await startTestHub({ yaml });
  await hub.startup.firstPass;
  await hub.app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
  return { hub, base, token: await hub.userToken(email) };
}

async function restCall(
  { base, token }: RunningHub,
  server: string,
  tool: string,
  args: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/api/mcp/${server}/tools/${tool}/call`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ arguments: args }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function mcpClient({ base, token }: RunningHub, path: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${base}${path}`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'websocket-upstream-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

describe('websocket upstream through the hub', () => {
  let peer: WebSocketMcpServer;
  let running: RunningHub;
  const clients: Client[] = [];

  beforeAll(async () => {
    peer = await startWebSocketMcpServer();
    running = await startHub(
      `
mcpSettings:
  maxResultBytes: ${LIMIT}
mcpServers:
  ws:
    type: websocket
    url: ${peer.url}
`,
      'ws-user@example.com',
    );
  }, 60_000);
  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await running.hub.dispose();
    await peer.close();
  });

  it('REST: a tool call answers over the websocket, which asked for the mcp subprotocol and no compression', async () => {
    const answer = await restCall(running, 'ws', 'echo', { message: 'over ws' });
    expect(answer.status).toBe(200);
    expect(textOf(answer.body)).toBe('Echo: over ws');
    const accepted = peer.handshakes.filter((each) => each.path === '/mcp');
    expect(accepted.length).toBeGreaterThan(0);
    for (const handshake of accepted) {
      expect(handshake.protocols).toBe('mcp');
      expect(handshake.extensions).toBeUndefined();
    }
  });

  it('/mcp: the aggregated endpoint lists the websocket server’s tools and calls one, with its progress', async () => {
    const client = await mcpClient(running, '/mcp');
    clients.push(client);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['ws__echo', 'ws__count']));
    const progress: Progress[] = [];
    const result = await client.callTool({ name: 'ws__count', arguments: { to: 3 } }, undefined, {
      onprogress: (each) => progress.push(each),
    });
    expect(textOf(result)).toBe('counted to 3');
    expect(progress.map((each) => each.progress)).toEqual([1, 2, 3]);
  });

  it('/mcp/servers/ws: the proxy lists and calls the tools unchanged', async () => {
    const client = await mcpClient(running, '/mcp/servers/ws');
    clients.push(client);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['echo', 'count', 'sized']));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'proxied' } }))).toBe(
      'Echo: proxied',
    );
  });

  it('/mcp/servers/ws: an oversized result is a JSON-RPC error naming the limit, and the session goes on', async () => {
    const client = await mcpClient(running, '/mcp/servers/ws');
    clients.push(client);
    await expect(client.callTool({ name: 'sized', arguments: { bytes: 4 * LIMIT } })).rejects.toThrow(
      `${LIMIT}-byte limit (maxResultBytes)`,
    );
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'again' } }))).toBe(
      'Echo: again',
    );
  });

  it('reconnects after the server drops the socket: the pool hears the close, the next call opens a new one', async () => {
    expect((await restCall(running, 'ws', 'echo', { message: 'before' })).status).toBe(200);
    const before = peer.handshakes.length;
    peer.dropAll();
    await expect.poll(() => running.hub.pool.state('app|ws'), { timeout: 10_000 }).toBe('disconnected');
    const after = await restCall(running, 'ws', 'echo', { message: 'after' });
    expect(after.status).toBe(200);
    expect(textOf(after.body)).toBe('Echo: after');
    expect(peer.handshakes.length).toBeGreaterThan(before);
  });

  it('an oversized result: its call fails with HUB_ERR_RESULT_TOO_LARGE naming the limit; the connection goes on', async () => {
    const handshakes = peer.handshakes.length;
    const tooLarge = await restCall(running, 'ws', 'sized', { bytes: 4 * LIMIT });
    expect(tooLarge.status).toBe(502);
    expect(tooLarge.body).toMatchObject({ code: 'HUB_ERR_RESULT_TOO_LARGE' });
    expect(JSON.stringify(tooLarge.body)).toContain(`${LIMIT}-byte limit (maxResultBytes)`);
    const under = await restCall(running, 'ws', 'sized', { bytes: LIMIT - 1024 });
    expect(under.status).toBe(200);
    expect(textOf(under.body)).toHaveLength(LIMIT - 1024);
    expect(running.hub.pool.state('app|ws')).toBe('connected');
    expect(peer.handshakes).toHaveLength(handshakes);
  });
});

describe('websocket upstreams and the egress guard', () => {
  let denied: WebSocketMcpServer;
  let allowed: WebSocketMcpServer;
  let running: RunningHub;

  beforeAll(async () => {
    denied = await startWebSocketMcpServer();
    allowed = await startWebSocketMcpServer();
    // A placeholder in the URL keeps a server off the admin's implicit allowlist (its host is not
    // known until a user calls), so only mcpSettings.allowedDomains can open a private address.
    running = await startHub(
      `
mcpSettings:
  allowedDomains: ['127.0.0.1:${allowed.port}']
mcpServers:
  ws-denied:
    type: websocket
    url: ${denied.url}?user={{LIBRECHAT_USER_ID}}
  ws-allowed:
    type: websocket
    url: ${allowed.url}?user={{LIBRECHAT_USER_ID}}
`,
      'ws-egress@example.com',
    );
  }, 60_000);
  afterAll(async () => {
    await running.hub.dispose();
    await denied.close();
    await allowed.close();
  });

  it('a websocket URL to a loopback port allowedDomains leaves out is refused (403 HUB_ERR_EGRESS_DENIED); nothing reached it', async () => {
    const refused = await restCall(running, 'ws-denied', 'echo', { message: 'no' });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'HUB_ERR_EGRESS_DENIED' });
    expect(denied.handshakes).toEqual([]);
  });

  it('the same URL on the allowlisted port connects', async () => {
    const answer = await restCall(running, 'ws-allowed', 'echo', { message: 'yes' });
    expect(answer.status).toBe(200);
    expect(textOf(answer.body)).toBe('Echo: yes');
    expect(allowed.handshakes.map((each) => new URL(each.path, allowed.url).pathname)).toContain('/mcp');
  });
});

describe('websocket server entries', () => {
  const check = (url: string) =>
    validateConfigText(`mcpServers:\n  remote:\n    type: websocket\n    url: ${url}\n`, {});

  it.each(['wss://mcp.example.com/ws', 'ws://127.0.0.1:9/mcp'])('%s is accepted by the schema', (url) => {
    const checked = check(url);
    expect(checked.ok ? checked.value.mcpServers.remote : checked.issues).toMatchObject({
      type: 'websocket',
      url,
    });
  });

  it('an http URL is not a websocket entry', () => {
    expect(check('https://mcp.example.com/ws')).toMatchObject({ ok: false });
  });
});
