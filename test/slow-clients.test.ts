import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_HTTP_SERVER_LIMITS } from '../src/http/server-limits.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';

/** A raw client socket: what it received, and a promise that settles when the server closes it. */
interface RawClient {
  socket: net.Socket;
  received: () => string;
  closed: Promise<void>;
  /** Settles when the first bytes of an answer arrive. */
  answered: Promise<void>;
}

/** Opens a raw TCP connection to the hub and collects everything it answers. */
async function rawClient(port: number): Promise<RawClient> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  let data = '';
  socket.setEncoding('utf8');
  const answered = new Promise<void>((resolve) => {
    socket.on('data', (chunk: string) => {
      data += chunk;
      resolve();
    });
  });
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => resolve());
    socket.on('error', () => undefined); // a reset is a close too
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => data, closed, answered };
}

/** Request headers announcing a JSON body of `length` bytes, with the bearer token when given. */
function postHead(port: number, path: string, length: number, token?: string): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
    (token === undefined ? '' : `Authorization: Bearer ${token}\r\n`) +
    `Accept: application/json, text/event-stream\r\nContent-Length: ${length}\r\n\r\n`
  );
}

/** A bodiless GET on a kept-alive connection. */
function getRequest(port: number, path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
}

/** How many responses with this status a raw client has received. */
function countStatus(client: RawClient, status: number): number {
  return client.received().split(`HTTP/1.1 ${status} `).length - 1;
}

/** Milliseconds from `start` until `event` settles. */
async function msUntil(event: Promise<void>, start: number): Promise<number> {
  await event;
  return performance.now() - start;
}

const MCP_HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };

/** Opens a `/mcp` session with plain HTTP (initialize, then initialized); returns its id. */
async function openMcpSession(base: string, token: string): Promise<string> {
  const headers = { ...MCP_HEADERS, authorization: `Bearer ${token}` };
  const init = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  expect(init.status).toBe(200);
  await init.text();
  const sessionId = init.headers.get('mcp-session-id') ?? '';
  const initialized = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { ...headers, 'mcp-session-id': sessionId },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  expect(initialized.status).toBe(202);
  return sessionId;
}

/** Collects a streamed response body as it arrives, and says whether and how it ended. */
function collect(response: Response): {
  text: () => string;
  ended: Promise<'done' | 'cut'>;
  cancel: () => Promise<void>;
} {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const ended = (async (): Promise<'done' | 'cut'> => {
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        text += decoder.decode(chunk.value, { stream: true });
      }
      return 'done';
    } catch {
      return 'cut';
    }
  })();
  return { text: () => text, ended, cancel: () => reader.cancel() };
}

/**
 * Issue 14, finding 5: a client sending its request slowly, or holding connections open, is cut
 * off by the HTTP server's limits (set short here through the environment, as an operator would);
 * long responses (streamed tool calls, `/mcp` GET streams) are not.
 */
describe('slow clients', () => {
  const HEADERS_TIMEOUT_MS = 400;
  const REQUEST_TIMEOUT_MS = 1_000;
  const KEEP_ALIVE_TIMEOUT_MS = 500;
  let probe: ProbeServer;
  let hub: TestHub;
  let port: number;
  let token: string;

  beforeAll(async () => {
    probe = await startProbeServer();
    hub = await startTestHub({
      env: {
        HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
        HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
      },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  probe:
    type: streamable-http
    url: ${probe.url}
`,
    });
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    port = (hub.app.server.address() as AddressInfo).port;
    token = await hub.userToken('slow-clients@example.com');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await probe?.stop();
  });

  it.each(['/mcp', '/mcp/servers/probe'])(
    'an anonymous %s POST is refused with 401 before its body arrives',
    async (path) => {
      const client = await rawClient(port);
      client.socket.write(postHead(port, path, 200) + '{"jsonrpc":"2.0",');
      await expect.poll(() => client.received()).toMatch(/^HTTP\/1\.1 401 /);
      expect(client.received()).toContain('www-authenticate: Bearer resource_metadata=');
      client.socket.destroy();
    },
  );

  it('an anonymous /api POST is refused with 401 before its body arrives', async () => {
    const client = await rawClient(port);
    client.socket.write(postHead(port, '/api/mcp/probe/tools/echo/call', 200) + '{"argu');
    await expect.poll(() => client.received()).toMatch(/^HTTP\/1\.1 401 /);
    client.socket.destroy();
  });

  it.each([
    ['a request line', 'GET /healthz HT'],
    ['headers', `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n`],
  ])('%s never finished: the connection is closed after the headers timeout', async (_what, partial) => {
    const client = await rawClient(port);
    const start = performance.now();
    client.socket.write(partial);
    const elapsed = await msUntil(client.closed, start);
    // Node answers 408 before closing, unless the socket is already gone.
    expect(client.received()).toMatch(/^(HTTP\/1\.1 408 |$)/);
    // Closed by the configured headers timeout: not at once (Node checks every 100 ms here, hence
    // the slack), and well before half the default would have.
    expect(elapsed).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(elapsed).toBeLessThan(DEFAULT_HTTP_SERVER_LIMITS.headersTimeoutMs / 2);
  });

  it('an authenticated POST whose body trickles gets 408 after the request timeout; others are served meanwhile', async () => {
    const client = await rawClient(port);
    const start = performance.now();
    client.socket.write(postHead(port, '/api/mcp/probe/tools/echo/call', 1_000, token) + '{"arguments":');
    // One byte every 50 ms: the headers are done and the body keeps coming, just never all of it.
    const trickle = setInterval(() => client.socket.write(' '), 50);
    try {
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect(client.received()).toBe('');
      const elapsed = await msUntil(client.closed, start);
      expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(elapsed).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
      expect(elapsed).toBeLessThan(DEFAULT_HTTP_SERVER_LIMITS.requestTimeoutMs / 2);
    } finally {
      clearInterval(trickle);
      client.socket.destroy();
    }
  });

  it('an idle kept-alive connection is closed after the keep-alive timeout', async () => {
    const client = await rawClient(port);
    client.socket.write(getRequest(port, '/healthz'));
    await expect.poll(() => countStatus(client, 200)).toBe(1);
    const answered = performance.now();
    const elapsed = await msUntil(client.closed, answered);
    expect(countStatus(client, 200)).toBe(1);
    // Node waits one second more than it tells the client (`Keep-Alive: timeout=…`), so the
    // client stops reusing the socket before the server closes it.
    expect(elapsed).toBeGreaterThanOrEqual(KEEP_ALIVE_TIMEOUT_MS - 100);
    expect(elapsed).toBeLessThan(DEFAULT_HTTP_SERVER_LIMITS.keepAliveTimeoutMs / 2);
  });

  it('a streamed tool call and a quiet /mcp GET stream outlive every limit', async () => {
    const base = `http://127.0.0.1:${port}`;
    const sessionId = await openMcpSession(base, token);
    const stream = await fetch(`${base}/mcp`, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'mcp-session-id': sessionId },
    });
    expect(stream.status).toBe(200);
    const events = collect(stream);
    // Twice the longest limit: a request, headers or idle timeout applied to responses would cut it.
    const ms = 2 * REQUEST_TIMEOUT_MS;
    const call = await fetch(`${base}/api/mcp/probe/tools/slow/call`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'text/event-stream',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ arguments: { ms } }),
    });
    expect(call.status).toBe(200);
    const result = collect(call);
    expect(await result.ended).toBe('done');
    expect(result.text()).toContain('event: progress');
    expect(result.text()).toContain(`Slept ${ms} ms`);

    // The GET stream, open all that time, still carries what the hub sends: a tool list change.
    const before = events.text().length;
    const added = await fetch(`${base}/api/mcp/probe/tools/add-tool/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ arguments: { name: 'late-tool' } }),
    });
    expect(added.status).toBe(200);
    await expect.poll(() => events.text().slice(before)).toContain('notifications/tools/list_changed');
    await events.cancel();
  }, 20_000);
});

/** Issue 14, finding 5: connections beyond `HTTP_MAX_CONNECTIONS` are closed as they arrive. */
describe('slow clients: connection limit', () => {
  const MAX_CONNECTIONS = 5;
  let hub: TestHub;
  let port: number;

  beforeAll(async () => {
    hub = await startTestHub({ env: { HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS) } });
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    port = (hub.app.server.address() as AddressInfo).port;
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
  });

  it('beyond the limit a new connection is closed unanswered, while those open still work', async () => {
    const held: RawClient[] = [];
    try {
      for (let i = 0; i < MAX_CONNECTIONS; i += 1) {
        const client = await rawClient(port);
        held.push(client);
        // Answered: the server has accepted and counts this connection.
        client.socket.write(getRequest(port, '/healthz'));
        await expect.poll(() => countStatus(client, 200)).toBe(1);
      }
      const refused = await rawClient(port);
      refused.socket.write(getRequest(port, '/healthz'));
      await refused.closed;
      expect(refused.received()).toBe('');

      for (const client of held) client.socket.write(getRequest(port, '/healthz'));
      for (const client of held) await expect.poll(() => countStatus(client, 200)).toBe(2);

      // Room again once one leaves (the server counts it gone when its side closes).
      held.pop()?.socket.destroy();
      await expect
        .poll(() => new Promise<number>((resolve) => hub.app.server.getConnections((_e, n) => resolve(n))))
        .toBe(MAX_CONNECTIONS - 1);
      const next = await rawClient(port);
      held.push(next);
      next.socket.write(getRequest(port, '/healthz'));
      await expect.poll(() => countStatus(next, 200)).toBe(1);
    } finally {
      for (const client of held) client.socket.destroy();
    }
  });
});
