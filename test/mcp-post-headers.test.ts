import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';

/**
 * The shape of a POST's answer: one JSON body, written once with its length, when the answer comes
 * before anything else; an SSE stream when a related message (progress) comes first, or when the
 * call stays quiet for a while, so a client waiting for headers learns that its request was taken.
 */
describe('/mcp POST answers: JSON when the answer comes first, SSE otherwise', () => {
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

  /** Sends one raw POST and resolves with the first bytes the hub writes back. */
  function firstBytes(body: string): Promise<string> {
    const head = Object.entries({ ...sessionHeaders(), 'content-length': String(Buffer.byteLength(body)) })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    const socket = connect(port, '127.0.0.1');
    return new Promise<string>((resolve, reject) => {
      socket.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8')));
      socket.once('error', reject);
      socket.write(`POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n${head}\r\n${body}`);
    }).finally(() => socket.destroy());
  }

  it('a call whose answer comes first gets one JSON body, headers and all in the first bytes read', async () => {
    const first = await firstBytes(callBody(901, 'probe__echo', { message: 'together' }));
    expect(first).toMatch(/^HTTP\/1\.1 200 /);
    expect(first).toContain('content-type: application/json');
    const length = /content-length: (\d+)/.exec(first)?.[1];
    const body = first.slice(first.indexOf('\r\n\r\n') + 4);
    expect(Number(length)).toBe(Buffer.byteLength(body));
    expect(JSON.parse(body)).toEqual({
      jsonrpc: '2.0',
      id: 901,
      result: { content: [{ type: 'text', text: 'Echo: together' }] },
    });
  });

  it('a batch of calls gets one JSON array with every answer', async () => {
    const batch = `[${callBody(911, 'probe__echo', { message: 'a' })},${callBody(912, 'probe__echo', { message: 'b' })}]`;
    const response = await fetch(`http://127.0.0.1:${port}/mcp`, {
      method: 'POST',
      headers: sessionHeaders(),
      body: batch,
    });
    expect(response.headers.get('content-type')).toBe('application/json');
    const answers = (await response.json()) as { id: number; result: { content: { text: string }[] } }[];
    expect(answers.map((a) => [a.id, a.result.content[0]?.text]).sort()).toEqual([
      [911, 'Echo: a'],
      [912, 'Echo: b'],
    ]);
  });

  it('a call that sends progress first becomes an SSE stream carrying the progress, then the answer', async () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 921,
      method: 'tools/call',
      params: { name: 'probe__slow', arguments: { ms: 250 }, _meta: { progressToken: 'p921' } },
    });
    const response = await fetch(`http://127.0.0.1:${port}/mcp`, {
      method: 'POST',
      headers: sessionHeaders(),
      body,
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const events = (await response.text())
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)) as { method?: string; id?: number });
    expect(events[0]?.method).toBe('notifications/progress');
    expect(events.at(-1)?.id).toBe(921);
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
