import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ToolListChangedNotificationSchema,
  type ClientCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { everythingStdioCommand, startEverything, type EverythingMode } from './everything.js';
import { startProbeServer, type ProbeServer } from './probe-server.js';
import { probeStdioCommand } from './probe-stdio.js';
import { textOf } from '../support/mcp-helpers.js';

/** Cleanups of the running test, run last-in first-out even when the test fails. */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** True while `pid` names a live process (a zombie counts as gone: init may be slow to reap it). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(20);
  }
}

async function connect(transport: Transport, capabilities: ClientCapabilities = {}): Promise<Client> {
  const client = new Client({ name: 'peers-test', version: '1.0.0' }, { capabilities });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return client;
}

async function probe(options?: Parameters<typeof startProbeServer>[0]): Promise<ProbeServer> {
  const server = await startProbeServer(options);
  cleanups.push(() => server.stop());
  return server;
}

function streamable(url: string, headers: Record<string, string> = {}): StreamableHTTPClientTransport {
  return new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
}

describe('server-everything', () => {
  it.each<EverythingMode>(['streamableHttp', 'sse'])(
    'serves tools over %s on 127.0.0.1 and stops cleanly',
    async (mode) => {
      const everything = await startEverything(mode);
      cleanups.push(() => everything.stop());
      expect(everything.url).toMatch(
        mode === 'sse' ? /^http:\/\/127\.0\.0\.1:\d+\/sse$/ : /^http:\/\/127\.0\.0\.1:\d+\/mcp$/,
      );

      const transport =
        mode === 'sse' ? new SSEClientTransport(new URL(everything.url)) : streamable(everything.url);
      const client = await connect(transport);
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(names).toEqual(
        expect.arrayContaining(['echo', 'get-sum', 'get-env', 'trigger-long-running-operation']),
      );
      // Capability-gated tools are absent for a client that declares no capabilities.
      expect(names).not.toContain('trigger-sampling-request');
      expect(names).not.toContain('get-roots-list');
      expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toBe('Echo: hi');
      await client.close();

      expect(isAlive(everything.pid)).toBe(true);
      await everything.stop();
      expect(isAlive(everything.pid)).toBe(false);
    },
  );

  it('lists capability-gated tools only for a client that declares the capabilities', async () => {
    const everything = await startEverything('streamableHttp');
    cleanups.push(() => everything.stop());
    const plain = await connect(streamable(everything.url));
    const rich = await connect(streamable(everything.url), { sampling: {}, elicitation: {}, roots: {} });
    const plainNames = (await plain.listTools()).tools.map((tool) => tool.name);
    const richNames = (await rich.listTools()).tools.map((tool) => tool.name);
    // 12 always-on tools plus the task-based simulate-research-query, registered after initialize.
    expect(plainNames).toHaveLength(13);
    expect(plainNames).toContain('simulate-research-query');
    const gated = ['trigger-sampling-request', 'trigger-elicitation-request', 'get-roots-list'];
    expect(richNames.filter((name) => !plainNames.includes(name)).sort()).toEqual(gated.sort());
  });

  it('runs as a stdio server from everythingStdioCommand()', async () => {
    const { command, args } = everythingStdioCommand();
    const client = await connect(new StdioClientTransport({ command, args, stderr: 'ignore' }));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toBe('Echo: hi');
  });
});

describe('probe server', () => {
  it('echoes, and whoami shows the caller’s own x-api-key and authorization', async () => {
    const server = await probe();
    const alice = await connect(
      streamable(server.url, { 'x-api-key': 'key-alice', authorization: 'Bearer tok-alice' }),
    );
    const bob = await connect(streamable(server.url, { 'x-api-key': 'key-bob' }));
    expect(textOf(await alice.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toBe('Echo: hi');
    expect(JSON.parse(textOf(await alice.callTool({ name: 'whoami', arguments: {} })))).toEqual({
      'x-api-key': 'key-alice',
      authorization: 'Bearer tok-alice',
    });
    expect(JSON.parse(textOf(await bob.callTool({ name: 'whoami', arguments: {} })))).toEqual({
      'x-api-key': 'key-bob',
      authorization: null,
    });
    expect(server.sessions).toBe(2);
    expect(server.requests).toBeGreaterThan(4);
    expect(server.lastHeaders().some((headers) => headers['x-api-key'] === 'key-bob')).toBe(true);
  });

  it('slow sends progress every 100 ms when the call asks for it', async () => {
    const server = await probe();
    const client = await connect(streamable(server.url));
    const progress: number[] = [];
    const result = await client.callTool({ name: 'slow', arguments: { ms: 450 } }, undefined, {
      onprogress: (event) => progress.push(event.progress),
    });
    expect(textOf(result)).toBe('Slept 450 ms');
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('answers 401 without the required header and serves with it', async () => {
    const server = await probe({ requireHeader: { name: 'x-api-key', value: 'right' } });
    const anonymous = new Client({ name: 'peers-test', version: '1.0.0' });
    await expect(anonymous.connect(streamable(server.url))).rejects.toThrow();
    await expect(
      new Client({ name: 'peers-test', version: '1.0.0' }).connect(
        streamable(server.url, { 'x-api-key': 'wrong' }),
      ),
    ).rejects.toThrow();
    const client = await connect(streamable(server.url, { 'x-api-key': 'right' }));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'ok' } }))).toBe('Echo: ok');
  });

  it('add-tool announces tools/list_changed and later sessions see the tool too', async () => {
    const server = await probe();
    const client = await connect(streamable(server.url));
    let announced = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      announced += 1;
    });
    // The announcement travels on the standalone GET stream, which the client opens after initialize.
    await until(() => server.openStreams === 1);
    expect(textOf(await client.callTool({ name: 'add-tool', arguments: { name: 'fresh' } }))).toBe(
      'Added fresh',
    );
    await until(() => announced === 1);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('fresh');
    const later = await connect(streamable(server.url));
    expect(textOf(await later.callTool({ name: 'fresh', arguments: {} }))).toBe('I am fresh');
  });

  it('hang never answers until the caller cancels', async () => {
    const server = await probe();
    const client = await connect(streamable(server.url));
    const abort = new AbortController();
    const call = client.callTool({ name: 'hang', arguments: {} }, undefined, { signal: abort.signal });
    await delay(300);
    abort.abort();
    await expect(call).rejects.toThrow();
    await until(() => server.abortedCalls === 1);
  });

  it('crash breaks a call in flight: JSON responses reject at once', async () => {
    const server = await probe({ jsonResponse: true });
    const client = await connect(streamable(server.url));
    const started = Date.now();
    await expect(client.callTool({ name: 'crash', arguments: {} })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(server.sessions).toBe(0);
  });

  it('crash under SSE responses: the SDK client only gives up at its request timeout', async () => {
    const server = await probe();
    const client = await connect(streamable(server.url));
    const started = Date.now();
    await expect(
      client.callTool({ name: 'crash', arguments: {} }, undefined, { timeout: 1_500 }),
    ).rejects.toThrow(/timed out/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
  });

  it('kill() drops a hanging call; restart() serves new sessions on the same port, old ones get 404', async () => {
    const server = await probe({ jsonResponse: true });
    const client = await connect(streamable(server.url));
    const call = client.callTool({ name: 'hang', arguments: {} });
    await delay(200);
    server.kill();
    await expect(call).rejects.toThrow();
    await expect(fetch(server.url, { method: 'GET' })).rejects.toThrow();
    await server.restart();
    const stale = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': 'gone',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(stale.status).toBe(404);
    const fresh = await connect(streamable(server.url));
    expect(textOf(await fresh.callTool({ name: 'echo', arguments: { message: 'back' } }))).toBe('Echo: back');
  });

  it('setMode switches to HTTP faults and back', async () => {
    const server = await probe();
    server.setMode('fail-500');
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(500);
    server.setMode('reject-401');
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(401);
    server.setMode('reset');
    await expect(fetch(server.url, { method: 'POST' })).rejects.toThrow();
    server.setMode('stall');
    await expect(fetch(server.url, { method: 'POST', signal: AbortSignal.timeout(300) })).rejects.toThrow();
    server.setMode('normal');
    const client = await connect(streamable(server.url));
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'fine' } }))).toBe(
      'Echo: fine',
    );
  });
});

describe('stdio probe', () => {
  it('get-env shows only the environment the client passed; its grandchild outlives an SDK close', async () => {
    const { command, args } = probeStdioCommand();
    const transport = new StdioClientTransport({
      command,
      args,
      env: { PROBE_MARKER: 'marker-1' },
      stderr: 'ignore',
    });
    const client = await connect(transport);
    const probePid = transport.pid;
    expect(probePid).not.toBeNull();

    const env = JSON.parse(textOf(await client.callTool({ name: 'get-env', arguments: {} }))) as Record<
      string,
      string
    >;
    expect(env.PROBE_MARKER).toBe('marker-1');
    expect(env.VITEST).toBeUndefined(); // the SDK passes only its default allowlist plus `env`
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toBe('Echo: hi');

    const { pid: grandchild } = JSON.parse(
      textOf(await client.callTool({ name: 'spawn-grandchild', arguments: {} })),
    ) as { pid: number };
    cleanups.push(() => {
      if (isAlive(grandchild)) process.kill(grandchild, 'SIGKILL');
      return Promise.resolve();
    });
    expect(isAlive(grandchild)).toBe(true);

    await client.close(); // the SDK ends stdin; the probe exits, its grandchild is left behind
    await until(() => probePid !== null && !isAlive(probePid));
    expect(isAlive(grandchild)).toBe(true);
    process.kill(grandchild, 'SIGKILL');
    await until(() => !isAlive(grandchild));
  });

  it('--stubborn ignores stdin EOF and SIGTERM: the SDK close ends it with SIGKILL after about 4 s', async () => {
    const { command, args } = probeStdioCommand({ stubborn: true });
    const transport = new StdioClientTransport({ command, args, stderr: 'ignore' });
    const client = await connect(transport);
    const probePid = transport.pid;
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toBe('Echo: hi');
    const started = Date.now();
    await client.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_900);
    await until(() => probePid !== null && !isAlive(probePid));
  });
});
