import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';

/**
 * When the headers of a POST's SSE answer leave: with its first event, in one write (a call that
 * answers at once costs one socket write, not two), or alone once the call has been quiet for a
 * while, so a client waiting for headers learns that its request was taken.
 */
describe('/mcp POST answers: headers leave with the first event', () => {
  let hub: TestHub;
  let probe: ProbeServer;
  let port: number;
  let token: string;
  let client: Client;
  let transport: StreamableHTTPClientTransport;

  beforeAll(async () => {
    probe = await startProbeServer();
    hub = await startTestHub({
      yaml: `
mcpServers:
  probe:
    type: streamable-http
    url: ${probe.url}
`,
    });
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    port = (hub.app.server.address() as AddressInfo).port;
    token = await hub.userToken('posts@example.com');
    client = new Client({ name: 'post-headers-test', version: '1.0.0' });
    transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    await client.connect(transport);
    // The session lists its tools once, so the call below goes straight to the upstream.
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('probe__echo');
  });

  afterAll(async () => {
    await client?.close();
    await hub?.dispose();
    await probe?.stop();
  });

  const callBody = (id: number, name: string, args: Record<string, unknown>) =>
    JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

  const sessionHeaders = () => ({
    authorization: `Bearer ${token}`,
    'mcp-session-id': transport.sessionId ?? '',
    'mcp-protocol-version': '2025-11-25',
    accept: 'application/json, text/event-stream',
    'content-type': 'application/json',
  });

  it('a call that answers arrives as headers and its event together, in the first bytes read', async () => {
    const body = callBody(901, 'probe__echo', { message: 'together' });
    const head = Object.entries({ ...sessionHeaders(), 'content-length': String(Buffer.byteLength(body)) })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    const socket = connect(port, '127.0.0.1');
    try {
      const first = await new Promise<string>((resolve, reject) => {
        socket.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8')));
        socket.once('error', reject);
        socket.write(`POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n${head}\r\n${body}`);
      });
      expect(first).toMatch(/^HTTP\/1\.1 200 /);
      expect(first).toContain('content-type: text/event-stream');
      expect(first).toContain('event: message');
      expect(first).toContain('Echo: together');
    } finally {
      socket.destroy();
    }
  });

  it('a quiet call still gets its headers, before any answer', async () => {
    const abort = new AbortController();
    try {
      const response = await fetch(`http://127.0.0.1:${port}/mcp`, {
        method: 'POST',
        headers: sessionHeaders(),
        body: callBody(902, 'probe__hang', {}),
        signal: abort.signal,
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/event-stream');
    } finally {
      abort.abort();
    }
    // A hang-up is no cancellation on streamable HTTP; the client says so, and the upstream call ends.
    const cancelled = await fetch(`http://127.0.0.1:${port}/mcp`, {
      method: 'POST',
      headers: sessionHeaders(),
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 902 } }),
    });
    expect(cancelled.status).toBe(202);
    await expect.poll(() => probe.abortedCalls).toBe(1);
  });
});
