import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdioCommand } from './peers/everything.js';
import { authorizeInBrowser } from './peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startTestHub, type TestHub } from './support/hub.js';

/** One server-sent event: its name and parsed JSON data. */
interface StreamEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Splits a `text/event-stream` body as it arrives: complete events out, comments counted. */
class EventParser {
  readonly events: StreamEvent[] = [];
  readonly comments: string[] = [];
  private buffer = '';

  feed(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else if (line.startsWith('event: ')) event = line.slice('event: '.length);
        else if (line.startsWith('data: ')) data += line.slice('data: '.length);
      }
      if (data !== '') this.events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
    }
  }
}

/** A response read to its end: status, headers and, for an event stream, its events. */
interface Answer {
  status: number;
  contentType: string;
  body: string;
  parsed: EventParser;
}

const STREAM = 'text/event-stream';

describe('REST tool calls: rich listing, streamed progress, cancel on hang-up', () => {
  let hub: TestHub;
  let probe: ProbeServer;
  let base: string;
  let alice: string;

  beforeAll(async () => {
    probe = await startProbeServer();
    const stdio = everythingStdioCommand();
    hub = await startTestHub({
      yaml: `
mcpServers:
  everything:
    command: ${JSON.stringify(stdio.command)}
    args: ${JSON.stringify(stdio.args)}
  probe:
    type: streamable-http
    url: ${probe.url}
  quick:
    type: streamable-http
    url: ${probe.url}
    timeout: 400
`,
    });
    await hub.startup?.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    alice = await hub.userToken('alice@example.com');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await probe?.stop();
  });

  /** Calls a tool over a real socket and reads the whole answer. */
  async function call(
    server: string,
    tool: string,
    args: Record<string, unknown>,
    accept?: string,
  ): Promise<Answer> {
    const res = await fetch(`${base}/api/mcp/${server}/tools/${encodeURIComponent(tool)}/call`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${alice}`,
        'content-type': 'application/json',
        ...(accept === undefined ? {} : { accept }),
      },
      body: JSON.stringify({ arguments: args }),
    });
    const body = await res.text();
    const parsed = new EventParser();
    const contentType = res.headers.get('content-type') ?? '';
    if (contentType.startsWith(STREAM)) parsed.feed(body);
    return { status: res.status, contentType, body, parsed };
  }

  /**
   * Starts a call with a raw `http.request` and hands each chunk of the answer to `onChunk`, so a
   * test can hang up (destroy the socket) at the moment it chooses.
   */
  function rawCall(
    server: string,
    tool: string,
    args: Record<string, unknown>,
    accept: string | undefined,
    onChunk: (text: string) => void,
  ): http.ClientRequest {
    const payload = JSON.stringify({ arguments: args });
    const request = http.request(`${base}/api/mcp/${server}/tools/${tool}/call`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${alice}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        ...(accept === undefined ? {} : { accept }),
      },
    });
    request.on('response', (response) => {
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => onChunk(chunk));
      response.on('error', () => undefined); // the test hangs up on purpose
    });
    request.on('error', () => undefined);
    request.end(payload);
    return request;
  }

  it('GET /api/mcp/tools lists title, inputSchema, outputSchema and annotations, LibreChat keys unchanged', async () => {
    const res = await hub.app.inject({
      method: 'GET',
      url: '/api/mcp/tools',
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(res.statusCode).toBe(200);
    type Tool = Record<string, unknown> & { name: string };
    const tools = res.json<{ servers: Record<string, { tools: Tool[] }> }>().servers.everything!.tools;
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    expect(byName.get('get-sum')).toEqual({
      name: 'get-sum',
      pluginKey: 'get-sum_mcp_everything',
      description: expect.any(String),
      title: 'Get Sum Tool',
      inputSchema: expect.objectContaining({
        type: 'object',
        properties: expect.objectContaining({ a: expect.any(Object), b: expect.any(Object) }),
      }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    });
    expect(byName.get('get-structured-content')?.outputSchema).toMatchObject({ type: 'object' });
    expect(byName.get('gzip-file-as-resource')?.annotations).toMatchObject({ openWorldHint: true });
    expect(byName.get('get-annotated-message')).toMatchObject({ title: 'Get Annotated Message Tool' });
    // Task-only tools are listed (the hub runs them as tasks); nothing beyond the allowlisted keys leaks through.
    expect(byName.has('simulate-research-query')).toBe(true);
    const allowed = [
      'name',
      'pluginKey',
      'description',
      'title',
      'inputSchema',
      'outputSchema',
      'annotations',
      'icons',
    ];
    for (const tool of tools) expect(Object.keys(tool).filter((key) => !allowed.includes(key))).toEqual([]);
    // The probe's tools carry no title or annotations: those keys are simply absent.
    const echo = res
      .json<{ servers: Record<string, { tools: Tool[] }> }>()
      .servers.probe!.tools.find((tool) => tool.name === 'echo');
    expect(echo).toEqual({
      name: 'echo',
      pluginKey: 'echo_mcp_probe',
      description: 'Echoes the message back',
      inputSchema: expect.objectContaining({ type: 'object' }),
    });
  });

  it('without Accept: text/event-stream the call answers JSON as before', async () => {
    const answer = await call('everything', 'get-sum', { a: 2, b: 3 });
    expect(answer.status).toBe(200);
    expect(answer.contentType).toMatch(/^application\/json/);
    expect(JSON.parse(answer.body)).toEqual({
      content: [{ type: 'text', text: 'The sum of 2 and 3 is 5.' }],
    });
  });

  it('streamed: a long-running tool yields progress events, then the result, then the end', async () => {
    const answer = await call(
      'everything',
      'trigger-long-running-operation',
      { duration: 1, steps: 4 },
      STREAM,
    );
    expect(answer.status).toBe(200);
    expect(answer.contentType).toMatch(/^text\/event-stream/);
    const names = answer.parsed.events.map((e) => e.event);
    // Every step, the last too: it leaves the upstream right before the result.
    expect(names.filter((name) => name === 'progress').length).toBe(4);
    expect(names.at(-1)).toBe('result');
    expect(names.slice(0, -1).every((name) => name === 'progress')).toBe(true);
    const progress = answer.parsed.events.filter((e) => e.event === 'progress').map((e) => e.data);
    expect(progress[0]).toMatchObject({ progress: expect.any(Number), total: 4 });
    expect(progress.map((p) => p.progress)).toEqual([...progress.map((p) => p.progress)].sort());
    const result = answer.parsed.events.at(-1)!.data as { content: Array<{ text?: string }> };
    expect(result.content[0]?.text).toMatch(/Long running operation completed/);
  });

  it('streamed: an image result comes through whole, as in JSON mode', async () => {
    const json = await call('everything', 'get-tiny-image', {});
    const streamed = await call('everything', 'get-tiny-image', {}, STREAM);
    expect(streamed.parsed.events).toEqual([{ event: 'result', data: JSON.parse(json.body) }]);
    expect(JSON.stringify(streamed.parsed.events)).toContain('"type":"image"');
  });

  it('streamed: an unknown tool is a result with isError, the same as the JSON answer', async () => {
    const json = await call('everything', 'no-such-tool', {});
    const streamed = await call('everything', 'no-such-tool', {}, STREAM);
    expect(json.status).toBe(200);
    expect(streamed.parsed.events).toEqual([{ event: 'result', data: JSON.parse(json.body) }]);
    expect(streamed.parsed.events[0]?.data).toMatchObject({ isError: true });
  });

  it('streamed: validation and lookup failures are plain JSON errors before any stream', async () => {
    const badName = await call('everything', 'bad name!', {}, STREAM);
    expect(badName.status).toBe(400);
    expect(badName.contentType).toMatch(/^application\/json/);
    expect(JSON.parse(badName.body)).toMatchObject({ code: 'HUB_ERR_VALIDATION' });
    const unknownServer = await call('nope', 'echo', {}, STREAM);
    expect(unknownServer.status).toBe(404);
    expect(JSON.parse(unknownServer.body)).toMatchObject({
      error: "MCP server 'nope' not found in configuration",
      code: 'HUB_ERR_SERVER_NOT_FOUND',
    });
  });

  it('streamed: a failure during the call is an error event with the JSON route’s error and code', async () => {
    const aborted = probe.abortedCalls;
    const json = await call('quick', 'hang', {});
    expect(json.status).toBe(504);
    const streamed = await call('quick', 'hang', {}, STREAM);
    expect(streamed.status).toBe(200);
    expect(streamed.parsed.events).toEqual([{ event: 'error', data: JSON.parse(json.body) }]);
    expect(streamed.parsed.events[0]?.data).toEqual({
      error: 'MCP server did not answer in time',
      code: 'HUB_ERR_UPSTREAM_TIMEOUT',
    });
    // Both timed-out calls were cancelled upstream too (the probe hears it a moment later).
    await expect.poll(() => probe.abortedCalls).toBe(aborted + 2);
  });

  it('streamed hang-up after the first progress cancels the upstream call at once; the connection stays', async () => {
    const sessions = probe.sessions;
    const aborted = probe.abortedCalls;
    const parser = new EventParser();
    const started = Date.now();
    const request = rawCall('probe', 'slow', { ms: 30_000 }, STREAM, (chunk) => {
      parser.feed(chunk);
      if (parser.events.some((e) => e.event === 'progress')) request.destroy();
    });
    await expect.poll(() => probe.abortedCalls, { timeout: 5_000 }).toBe(aborted + 1);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(parser.events[0]).toMatchObject({ event: 'progress', data: { total: 30_000 } });
    const next = await call('probe', 'echo', { message: 'still here' });
    expect(JSON.parse(next.body)).toEqual({ content: [{ type: 'text', text: 'Echo: still here' }] });
    expect(probe.sessions).toBe(sessions);
  });

  it('JSON hang-up mid-call cancels the upstream call at once too', async () => {
    const aborted = probe.abortedCalls;
    const requests = probe.requests;
    const started = Date.now();
    const request = rawCall('probe', 'slow', { ms: 30_000 }, undefined, () => undefined);
    // The call has reached the upstream once the probe saw the hub's request.
    await expect.poll(() => probe.requests, { timeout: 5_000 }).toBeGreaterThan(requests);
    request.destroy();
    await expect.poll(() => probe.abortedCalls, { timeout: 5_000 }).toBe(aborted + 1);
    expect(Date.now() - started).toBeLessThan(10_000);
    const next = await call('probe', 'echo', { message: 'again' });
    expect(JSON.parse(next.body)).toEqual({ content: [{ type: 'text', text: 'Echo: again' }] });
  });

  it('a call that completes is not counted as cancelled', async () => {
    const aborted = probe.abortedCalls;
    const answer = await call('probe', 'slow', { ms: 250 }, STREAM);
    expect(answer.parsed.events.at(-1)).toEqual({
      event: 'result',
      data: { content: [{ type: 'text', text: 'Slept 250 ms' }] },
    });
    expect(probe.abortedCalls).toBe(aborted);
  });
});

const PUBLIC_URL = 'http://127.0.0.1:39998';

describe('streamed tool calls to a server that needs OAuth', () => {
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let hub: TestHub;
  let alice: string;

  beforeAll(async () => {
    as = await startAuthorizationServer();
    mcp = await startProtectedMcpServer(as);
    hub = await startTestHub({
      env: { PUBLIC_URL },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  secure:
    type: streamable-http
    url: ${mcp.url}
    requiresOAuth: true
`,
    });
    alice = await hub.userToken('alice@example.com');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await mcp?.stop();
    await as?.stop();
  });

  const streamedWhoami = (cookie?: string) =>
    hub.app.inject({
      method: 'POST',
      url: '/api/mcp/secure/tools/whoami/call',
      headers: { authorization: `Bearer ${alice}`, accept: STREAM, ...(cookie ? { cookie } : {}) },
      payload: { arguments: {} },
    });

  it('before authorization: the ordinary 401 JSON with oauthUrl and the binding cookie; after it, a stream', async () => {
    const first = await streamedWhoami();
    expect(first.statusCode).toBe(401);
    expect(first.headers['content-type']).toMatch(/^application\/json/);
    const body = first.json<{ code: string; oauthRequired: boolean; oauthUrl: string; flowId: string }>();
    expect(body).toMatchObject({
      code: 'HUB_ERR_OAUTH_REQUIRED',
      oauthRequired: true,
      flowId: expect.any(String),
    });
    expect(new URL(body.oauthUrl).origin).toBe(as.issuer);
    expect(first.cookies.find((c) => c.name === 'sb_oauth_secure')).toMatchObject({ httpOnly: true });

    const { callbackUrl } = await authorizeInBrowser(body.oauthUrl, {
      loginHint: 'alice',
      redirectUriPrefix: `${PUBLIC_URL}/api/mcp/secure/oauth/callback`,
    });
    const url = new URL(callbackUrl);
    const cookie = first.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const back = await hub.app.inject({
      method: 'GET',
      url: `${url.pathname}${url.search}`,
      headers: { cookie },
    });
    expect(back.statusCode).toBe(302);

    const second = await streamedWhoami();
    expect(second.statusCode).toBe(200);
    expect(second.headers['content-type']).toMatch(/^text\/event-stream/);
    const parser = new EventParser();
    parser.feed(second.body);
    expect(parser.events).toEqual([
      { event: 'result', data: { content: [{ type: 'text', text: 'alice' }] } },
    ]);
  });
});
