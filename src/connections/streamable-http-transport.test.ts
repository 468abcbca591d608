import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startConformanceFixtures } from '../../test/peers/conformance-fixtures.js';
import { startProbeServer, type ProbeServer } from '../../test/peers/probe-server.js';
import { StreamableHttpTransport, type StreamableHttpTransportOptions } from './streamable-http-transport.js';
import { createEgressGuard } from '../net/index.js';
import { upstreamHttpStatus } from './upstream-errors.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function probe(jsonResponse: boolean): Promise<ProbeServer> {
  const server = await startProbeServer({ jsonResponse });
  cleanups.push(() => server.stop());
  return server;
}

async function connect(
  url: string,
  headers: Record<string, string> = {},
  options: Partial<Pick<StreamableHttpTransportOptions, 'fetch' | 'reopen'>> = {},
): Promise<{ client: Client; transport: StreamableHttpTransport; errors: Error[] }> {
  const transport = new StreamableHttpTransport({ url: new URL(url), headers, fetch, ...options });
  const errors: Error[] = [];
  const client = new Client({ name: 'transport-test', version: '1.0.0' });
  client.onerror = (error) => errors.push(error);
  await client.connect(transport);
  cleanups.push(() => client.close());
  return { client, transport, errors };
}

/** A bare HTTP server on loopback; `handle` answers each request. */
async function rawServer(handle: http.RequestListener): Promise<string> {
  const server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * A bare MCP server: initialize is answered with JSON, a POSTed notification with 202 (then
 * `onNotification` hears its method), any other request by `answer` (default: `{ tools: [] }` as
 * JSON), and a GET by `onGet`.
 */
function bareMcp(handlers: {
  onGet: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  onNotification?: (method: string) => void;
  answer?: (res: http.ServerResponse, id: number) => void;
}): http.RequestListener {
  const json = (res: http.ServerResponse, id: number, result: unknown): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id, result }));
  };
  return (req, res) => {
    if (req.method === 'GET') {
      handlers.onGet(req, res);
      return;
    }
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const message = JSON.parse(body) as { id?: number; method: string };
      if (message.id === undefined) {
        res.writeHead(202).end();
        handlers.onNotification?.(message.method);
      } else if (message.method === 'initialize') {
        const serverInfo = { name: 'bare', version: '1' };
        json(res, message.id, { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo });
      } else if (handlers.answer) handlers.answer(res, message.id);
      else json(res, message.id, { tools: [] });
    });
  };
}

describe.each([
  ['event-stream answers', false],
  ['JSON answers', true],
])('StreamableHttpTransport against the SDK server (%s)', (_name, jsonResponse) => {
  it('keeps the session, sends its headers on every request, calls tools and ends the session with DELETE', async () => {
    const server = await probe(jsonResponse);
    const { client, transport, errors } = await connect(server.url, { 'X-Api-Key': 'k-1' });
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const result = await client.callTool({ name: 'echo', arguments: { message: 'hé "quoted"\n😀' } });
    expect(result.content).toEqual([{ type: 'text', text: 'Echo: hé "quoted"\n😀' }]);
    const posts = server.recent().filter((request) => request.method === 'POST');
    expect(posts.length).toBeGreaterThanOrEqual(3); // initialize, initialized, tools/call
    for (const post of posts.slice(1)) {
      expect(post.headers['mcp-session-id']).toBe(transport.sessionId);
      expect(post.headers['mcp-protocol-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(post.headers['x-api-key']).toBe('k-1');
      expect(post.headers.accept).toBe('application/json, text/event-stream');
    }
    expect(server.sessions).toBe(1);
    await transport.terminateSession();
    expect(transport.sessionId).toBeUndefined();
    expect(server.sessions).toBe(0);
    expect(errors).toEqual([]);
  });

  it('opens the standalone stream after initialization and hears the server on it', async () => {
    const server = await probe(jsonResponse);
    const { client } = await connect(server.url);
    const heard = new Promise<void>((resolve) =>
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()),
    );
    // The stream is open once the server has seen its GET; the announcement goes out on it.
    await expect.poll(() => server.openStreams).toBe(1);
    server.addTool('late');
    await heard;
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toContain('late');
  });

  it('fails a request the server answers with an error status, with that status on the error', async () => {
    const server = await probe(jsonResponse);
    const { client } = await connect(server.url);
    server.setMode('fail-500');
    const failure = await client.listTools().catch((error: unknown) => error);
    expect(upstreamHttpStatus(failure)).toBe(500);
  });
});

describe.each([
  ['event-stream answers', false],
  ['JSON answers', true],
])('StreamableHttpTransport over the egress guard (%s)', (_name, jsonResponse) => {
  it('reads every successful answer as a direct body (no web stream), the standalone stream too', async () => {
    const server = await probe(jsonResponse);
    const guard = createEgressGuard({ allowedDomains: [new URL(server.url).host] });
    cleanups.push(() => guard.close());
    const answers: { status: number; streamed: boolean }[] = [];
    const guarded = guard.withLimits({ streaming: true });
    const watching = async (url: string | URL, init?: RequestInit): Promise<Response> => {
      const response = await guarded(url, init);
      answers.push({ status: response.status, streamed: response.body !== null });
      return response;
    };
    const { client, errors } = await connect(server.url, {}, { fetch: watching });
    const heard = new Promise<void>((resolve) =>
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()),
    );
    await expect.poll(() => server.openStreams).toBe(1);
    server.addTool('late');
    await heard;
    const result = await client.callTool({ name: 'echo', arguments: { message: 'direct' } });
    expect(result.content).toEqual([{ type: 'text', text: 'Echo: direct' }]);
    const ok = answers.filter((answer) => answer.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(3); // initialize, the GET stream, tools/call
    expect(ok.filter((answer) => answer.streamed)).toEqual([]);
    expect(errors).toEqual([]);
  });
});

describe('StreamableHttpTransport: a request whose answer stream the server ends early', () => {
  it('resumes it with Last-Event-ID from the SDK server’s event store, and the call completes (SEP-1699)', async () => {
    const fixtures = await startConformanceFixtures();
    cleanups.push(() => fixtures.stop());
    const resumedFrom: string[] = [];
    const watching: typeof fetch = (url, init) => {
      const headers = (init?.headers ?? {}) as Record<string, string>;
      if (init?.method === 'GET' && headers['last-event-id'] !== undefined)
        resumedFrom.push(headers['last-event-id']);
      return fetch(url, init);
    };
    const { client, errors } = await connect(fixtures.url, {}, { fetch: watching });
    // The fixture's tool ends its POST stream after the priming event, then answers into its event store.
    const result = await client.callTool({ name: 'test_reconnection', arguments: {} });
    expect(result.content).toEqual([{ type: 'text', text: 'Reconnection test completed' }]);
    expect(resumedFrom.length).toBeGreaterThanOrEqual(1);
    expect(errors).toEqual([]);
  });

  /**
   * Answers every request but initialize with a priming event and the end of its stream (the
   * answer was to come on a resumed one); a GET with `Last-Event-ID` goes to `onResume`.
   */
  function primingServer(
    onResume: (res: http.ServerResponse, lastEventId: string) => void,
    onNotification?: (method: string) => void,
  ): http.RequestListener {
    return bareMcp({
      onGet: (req, res) => {
        const lastEventId = req.headers['last-event-id'];
        if (typeof lastEventId === 'string') onResume(res, lastEventId);
        else res.writeHead(405).end();
      },
      ...(onNotification === undefined ? {} : { onNotification }),
      answer: (res) =>
        res.writeHead(200, { 'content-type': 'text/event-stream' }).end('id: p-1\nretry: 5\ndata:\n\n'),
    });
  }

  it('fails the call at once, not at its timeout, when the stream cannot be resumed', async () => {
    const resumes: string[] = [];
    const base = await rawServer(
      primingServer((res, lastEventId) => {
        resumes.push(lastEventId);
        res.writeHead(404).end();
      }),
    );
    const reopen = { initialDelayMs: 5, maxDelayMs: 5, growFactor: 1, maxTries: 3 };
    const { client } = await connect(`${base}/mcp`, {}, { reopen });
    const failed = await client.listTools(undefined, { timeout: 60_000 }).catch((error: unknown) => error);
    expect(String(failed)).toMatch(/closed the stream before answering/);
    expect(resumes).toEqual(['p-1', 'p-1', 'p-1']);
  });

  it('stops resuming a request its caller cancelled', async () => {
    let resumes = 0;
    let held: http.ServerResponse | undefined;
    let cancelledSeen!: () => void;
    const cancelled = new Promise<void>((resolve) => (cancelledSeen = resolve));
    const base = await rawServer(
      primingServer(
        (res) => {
          resumes += 1;
          // Each resumed stream ends at once, empty: the server polls; the second one is held open.
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          if (resumes === 1) res.end();
          else held = res;
        },
        (method) => {
          if (method === 'notifications/cancelled') cancelledSeen();
        },
      ),
    );
    const { client } = await connect(`${base}/mcp`);
    const failed = await client.listTools(undefined, { timeout: 300 }).catch((error: unknown) => error);
    expect(String(failed)).toMatch(/timed out/i);
    await cancelled;
    held?.end();
    // No timer or event marks "nothing more happened": 20 of the server's 5 ms retry intervals pass.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(resumes).toBe(2);
  });
});

describe('StreamableHttpTransport against a bare HTTP server', () => {
  it('a server without a standalone stream (GET 405) is no error', async () => {
    let gets = 0;
    let sawGet!: () => void;
    const gotGet = new Promise<void>((resolve) => (sawGet = resolve));
    const base = await rawServer(
      bareMcp({
        onGet: (_req, res) => {
          gets += 1;
          res.writeHead(405).end();
          sawGet();
        },
      }),
    );
    const { client, errors } = await connect(`${base}/mcp`);
    await gotGet;
    await client.listTools();
    expect(gets).toBe(1);
    expect(errors).toEqual([]);
  });

  it('reopens an ended standalone stream with Last-Event-ID, after the retry time the server asked for', async () => {
    const lastEventIds: (string | undefined)[] = [];
    let reopened!: () => void;
    const secondGet = new Promise<void>((resolve) => (reopened = resolve));
    const base = await rawServer(
      bareMcp({
        onGet: (req, res) => {
          lastEventIds.push(req.headers['last-event-id'] as string | undefined);
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          // A priming event: an id and no data at all, then the server ends the stream.
          if (lastEventIds.length === 1) res.end('id: ev-5\r\nretry: 10\r\n\r\n');
          else reopened(); // held open until the test ends
        },
      }),
    );
    const { errors } = await connect(`${base}/mcp`);
    await secondGet;
    expect(lastEventIds).toEqual([undefined, 'ev-5']);
    expect(errors).toEqual([]);
  });

  it('follows a same-origin 307 and refuses one to another origin, which it never contacts', async () => {
    let elsewhereHits = 0;
    const elsewhere = await rawServer((_req, res) => {
      elsewhereHits += 1;
      res.writeHead(500).end();
    });
    const handleMcp = bareMcp({ onGet: (_req, res) => res.writeHead(405).end() });
    const base = await rawServer((req, res) => {
      if (req.url === '/moved') res.writeHead(307, { location: '/mcp' }).end();
      else if (req.url === '/away') res.writeHead(307, { location: `${elsewhere}/mcp?key=secret` }).end();
      else handleMcp(req, res);
    });
    const { client } = await connect(`${base}/moved`);
    expect((await client.listTools()).tools).toEqual([]);

    const transport = new StreamableHttpTransport({ url: new URL(`${base}/away`), headers: {}, fetch });
    const refused = await new Client({ name: 't', version: '1' })
      .connect(transport)
      .catch((error: unknown) => error);
    expect(upstreamHttpStatus(refused)).toBe(307);
    expect(String(refused)).not.toContain('secret');
    expect(elsewhereHits).toBe(0);
  });
});
