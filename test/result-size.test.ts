import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../src/connections/connection-pool.js';
import type { ConnectionOptions, UpstreamSpec } from '../src/connections/types.js';
import { isHubError } from '../src/errors/index.js';
import { createLogger } from '../src/observability/index.js';
import { sizedStdioCommand, startSizedHttpServer, type SizedHttpServer } from './peers/sized-http-server.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { textOf } from './support/mcp-helpers.js';

// Issue 14, finding 2: one result-size limit on every transport, failing only the call concerned.
const LIMIT = 64 * 1024;
const OVER = 4 * LIMIT;
const OPTIONS: ConnectionOptions = { initTimeoutMs: 15_000, requestTimeoutMs: 15_000, idleTimeoutMs: 0 };
const logger = createLogger({ level: 'silent' });

let peer: SizedHttpServer;
let pool: ConnectionPool;
beforeAll(async () => {
  peer = await startSizedHttpServer();
  pool = new ConnectionPool({ logger, hostEnv: process.env, maxResultBytes: LIMIT });
});
afterAll(async () => {
  await pool.close();
  await peer.close();
});

const specs: Record<string, () => UpstreamSpec> = {
  stdio: () => ({ transport: 'stdio', ...sizedStdioCommand(), env: {} }),
  sse: () => ({ transport: 'sse', url: peer.sseUrl, headers: {} }),
  'streamable-http (SSE responses)': () => ({
    transport: 'streamable-http',
    url: peer.streamableUrl,
    headers: {},
  }),
  'streamable-http (JSON responses)': () => ({
    transport: 'streamable-http',
    url: peer.jsonUrl,
    headers: {},
  }),
};

describe('result size limit', () => {
  it.each(Object.keys(specs))(
    '%s: an oversized result fails its own call with HUB_ERR_RESULT_TOO_LARGE; the shared connection and its other calls go on',
    async (name) => {
      const key = `app|${name}`;
      const connection = await pool.acquire(key, 'f1', specs[name]!(), OPTIONS);
      // A call kept in flight on the same connection across the oversized one.
      const held = connection.callTool('held', {});

      const error: unknown = await connection.callTool('sized', { bytes: OVER }).then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
      expect(isHubError(error)).toBe(true);
      expect(error).toMatchObject({
        code: 'HUB_ERR_RESULT_TOO_LARGE',
        status: 502,
        message: `MCP server result is larger than the ${LIMIT}-byte limit (maxResultBytes)`,
        details: { maxResultBytes: LIMIT },
      });

      // Just under the limit passes; the held call was not failed with it.
      expect(textOf(await connection.callTool('sized', { bytes: LIMIT - 1024 }))).toHaveLength(LIMIT - 1024);
      expect(textOf(await connection.callTool('release', {}))).toBe('released 1');
      expect(textOf(await held)).toBe('released');

      // The same connection serves the next call.
      expect(textOf(await connection.callTool('echo', { message: 'after' }))).toBe('Echo: after');
      expect(connection.closed).toBe(false);
      expect(pool.peek(key)).toBe(connection);
      expect(pool.state(key)).toBe('connected');
    },
  );
});

describe('result size limit through the hub (mcpSettings.maxResultBytes)', () => {
  let hub: TestHub;
  let base: string;
  let token: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    const stdio = sizedStdioCommand();
    hub = await startTestHub({
      yaml: `
mcpSettings:
  maxResultBytes: ${LIMIT}
mcpServers:
  sized-stdio:
    command: ${JSON.stringify(stdio.command)}
    args: ${JSON.stringify(stdio.args)}
  sized-json:
    type: streamable-http
    url: ${peer.jsonUrl}
  sized-sse:
    type: sse
    url: ${peer.sseUrl}
`,
    });
    await hub.startup?.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    token = await hub.userToken('sized@example.com');
  }, 60_000);
  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    await hub.dispose();
  });

  const call = async (server: string, tool: string, args: Record<string, unknown>) => {
    const res = await fetch(`${base}/api/mcp/${server}/tools/${tool}/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ arguments: args }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it.each(['sized-stdio', 'sized-json', 'sized-sse'])(
    '%s: REST answers 502 HUB_ERR_RESULT_TOO_LARGE naming the limit, and the next call works',
    async (server) => {
      const tooLarge = await call(server, 'sized', { bytes: OVER });
      expect(tooLarge.status).toBe(502);
      expect(tooLarge.body).toMatchObject({ code: 'HUB_ERR_RESULT_TOO_LARGE' });
      expect(JSON.stringify(tooLarge.body)).toContain(`${LIMIT}-byte limit (maxResultBytes)`);
      const next = await call(server, 'echo', { message: 'next' });
      expect(next.status).toBe(200);
      expect(JSON.stringify(next.body)).toContain('Echo: next');
    },
  );

  it('/mcp/servers/<name>: a JSON-RPC error naming the limit, and the session goes on', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/servers/sized-stdio`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'result-size-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    await expect(client.callTool({ name: 'sized', arguments: { bytes: OVER } })).rejects.toThrow(
      `${LIMIT}-byte limit (maxResultBytes)`,
    );
    const next = await client.callTool({ name: 'echo', arguments: { message: 'again' } });
    expect(textOf(next)).toBe('Echo: again');
  });
});

describe('result size limit by default (10 MiB)', () => {
  let hub: TestHub;
  let base: string;
  let token: string;

  beforeAll(async () => {
    hub = await startTestHub({
      yaml: `
mcpServers:
  sized-json:
    type: streamable-http
    url: ${peer.jsonUrl}
`,
    });
    await hub.startup?.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    token = await hub.userToken('default-limit@example.com');
  }, 60_000);
  afterAll(() => hub.dispose());

  it('a JSON answer past 10 MiB is the named error, not the egress guard cutting the connection', async () => {
    const call = (tool: string, args: Record<string, unknown>) =>
      fetch(`${base}/api/mcp/sized-json/tools/${tool}/call`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ arguments: args }),
      });
    const tooLarge = await call('sized', { bytes: 10 * 1024 * 1024 + 1 });
    expect(tooLarge.status).toBe(502);
    const body = (await tooLarge.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ code: 'HUB_ERR_RESULT_TOO_LARGE' });
    expect(JSON.stringify(body)).toContain('10485760-byte limit (maxResultBytes)');
    expect((await call('echo', { message: 'next' })).status).toBe(200);
  });
});
