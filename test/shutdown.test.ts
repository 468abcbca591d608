import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORCE_LOOPBACK_PRELOAD } from './peers/loopback-child.js';
import { probeStdioCommand } from './peers/probe-stdio.js';
import { startProbeServer } from './peers/probe-server.js';
import { startTestHub } from './support/hub.js';

/** The hub's command line entry, run through tsx as `switchboard serve`. */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const LISTENING_LINE = /^SWITCHBOARD_PEER_LISTENING (\d+)$/m;

/** A process's state letter from /proc (`Z` for a zombie), or null when it is gone. */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** Parent pid and process group of a process, from /proc; null when it is gone. */
function procIds(pid: number): { ppid: number; pgid: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), pgid: Number(fields[2]) };
  } catch {
    return null;
  }
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** Live (not zombie) members of a process group. */
function liveMembers(pgid: number): number[] {
  return pids().filter((pid) => procIds(pid)?.pgid === pgid && ![null, 'Z'].includes(procState(pid)));
}

/** Direct children of `parent` whose command line mentions `marker`. */
function childrenRunning(parent: number, marker: string): number[] {
  return pids().filter((pid) => {
    if (procIds(pid)?.ppid !== parent) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
    } catch {
      return false;
    }
  });
}

/** The hub as `switchboard serve` in its own process, on a loopback port the kernel picked. */
interface HubProcess {
  child: ChildProcess;
  port: number;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

async function startHubProcess(env: Record<string, string>): Promise<HubProcess> {
  const child = spawn(
    process.execPath,
    ['--import', FORCE_LOOPBACK_PRELOAD, '--import', 'tsx', MAIN, 'serve'],
    {
      env: { ...process.env, ...env, SWITCHBOARD_PEER_PARENT_PID: String(process.pid) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (): void => {
      const match = LISTENING_LINE.exec(tail);
      if (match?.[1] !== undefined) {
        child.stderr?.off('data', onData);
        resolve(Number(match[1]));
      }
    };
    child.stderr?.on('data', onData);
    void exit.then(({ code }) =>
      reject(new Error(`hub exited (${String(code)}) before listening:\n${tail}`)),
    );
  });
  return { child, port, exit, output: () => tail };
}

const MCP_HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };

/** Opens a `/mcp` session with plain HTTP (initialize, then initialized); returns its id. */
async function openRawSession(base: string, token: string): Promise<string> {
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

/** Reads a response body to its end: its text, or why it failed instead of ending. */
async function readToEnd(response: Response): Promise<{ ended: boolean; text: string }> {
  try {
    return { ended: true, text: await response.text() };
  } catch (err) {
    return { ended: false, text: String(err) };
  }
}

/** A raw connection: what it received, and a promise that settles when the hub closes it. */
async function rawConnection(
  port: number,
): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (data += chunk));
  socket.on('error', () => undefined); // a reset is a close too
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => data, closed };
}

/**
 * Issue 14, finding 3: SIGTERM must not wait on downstream streams. The hub ends every `/mcp`
 * stream, drains, kills each stdio child's whole process group (TERM, then KILL for one that
 * ignores TERM) and exits 0 before its own deadline (which would exit 1).
 */
describe.runIf(process.platform === 'linux')('graceful shutdown of `switchboard serve`', () => {
  let dataDir: string;
  let token: string;
  const jwtSecret = randomBytes(32).toString('hex');
  const leftovers: number[] = [];

  beforeAll(async () => {
    // An in-process hub on the same data directory makes the user and its token, then closes.
    const setup = await startTestHub({ env: { JWT_SECRET: jwtSecret } });
    dataDir = setup.dataDir;
    token = await setup.userToken('shutdown@example.com');
    await setup.close();
  });

  /** `switchboard serve` on the shared data directory with this switchboard.yaml. */
  async function serveWith(yaml: string): Promise<HubProcess> {
    const configPath = path.join(dataDir, `shutdown-${randomBytes(4).toString('hex')}.yaml`);
    await writeFile(configPath, yaml);
    return startHubProcess({
      DATA_DIR: dataDir,
      SWITCHBOARD_CONFIG: configPath,
      JWT_SECRET: jwtSecret,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
  }

  afterAll(async () => {
    for (const pgid of leftovers) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** The hub serving one streamable HTTP probe server (whose `hang` tool never answers). */
  async function serveWithProbe() {
    const probe = await startProbeServer();
    const hub = await serveWith(`mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  probe:
    type: streamable-http
    url: ${probe.url}
`);
    return { probe, hub, base: `http://127.0.0.1:${hub.port}` };
  }

  /** A REST call to `hang`, streamed as events: it stays in flight until the hub ends it. */
  const streamHangingCall = (base: string) =>
    fetch(`${base}/api/mcp/probe/tools/hang/call`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'text/event-stream',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ arguments: {} }),
    });

  it('with an SDK client holding a /mcp GET stream: the stream ends, both stubborn stdio groups die, exit 0', async () => {
    const stubborn = probeStdioCommand({ stubborn: true });
    const hub = await serveWith(`mcpServers:
  stubborn:
    command: ${JSON.stringify(stubborn.command)}
    args: ${JSON.stringify(stubborn.args)}
  stubborn2:
    command: ${JSON.stringify(stubborn.command)}
    args: ${JSON.stringify(stubborn.args)}
`);
    const hubPid = hub.child.pid ?? 0;
    const base = `http://127.0.0.1:${hub.port}`;
    try {
      // The SDK client: it opens its own GET stream once initialized.
      const client = new Client({ name: 'shutdown-test', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      await expect
        .poll(async () => (await client.listTools()).tools.map((t) => t.name))
        .toEqual(expect.arrayContaining(['stubborn__echo', 'stubborn2__echo']));
      const called = await client.callTool({ name: 'stubborn__spawn-grandchild', arguments: {} });
      const { pid: grandchild } = JSON.parse((called.content as Array<{ text: string }>)[0]?.text ?? '') as {
        pid: number;
      };

      // A second session whose GET stream is known to be open (the response headers arrived).
      const sessionId = await openRawSession(base, token);
      const stream = await fetch(`${base}/mcp`, {
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'text/event-stream',
          'mcp-session-id': sessionId,
        },
      });
      expect(stream.status).toBe(200);
      const streamEnded = readToEnd(stream);

      // The shared connections and this user's relay connections: each child leads its own group.
      const groups = childrenRunning(hubPid, 'probe-stdio-server');
      leftovers.push(...groups);
      expect(groups.length).toBeGreaterThanOrEqual(2);
      for (const pgid of groups) expect(procIds(pgid)?.pgid).toBe(pgid);
      expect(groups).toContain(procIds(grandchild)?.pgid);

      hub.child.kill('SIGTERM');
      const { code, signal } = await hub.exit;
      // Exit 1 would mean the hub hit its own shutdown deadline.
      expect({ code, signal }, hub.output()).toEqual({ code: 0, signal: null });
      expect((await streamEnded).ended).toBe(true);
      // Both stubborn children ignored stdin EOF and SIGTERM: only their group's SIGKILL ends them.
      for (const pgid of groups) await expect.poll(() => liveMembers(pgid)).toEqual([]);
      expect(procState(grandchild) ?? 'Z').toBe('Z');
      await client.close().catch(() => undefined);
    } finally {
      if (hub.child.exitCode === null && hub.child.signalCode === null) hub.child.kill('SIGKILL');
    }
  }, 60_000);
  it('drains calls in flight, then fails those still running at the deadline: their streams end, exit 0', async () => {
    const { probe, hub, base } = await serveWithProbe();
    try {
      // A REST call streamed as events, and a /mcp call: both to a tool that never answers.
      const rest = await streamHangingCall(base);
      expect(rest.status).toBe(200);
      const restBody = readToEnd(rest);
      const sessionId = await openRawSession(base, token);
      const mcp = await fetch(`${base}/mcp`, {
        method: 'POST',
        headers: { ...MCP_HEADERS, authorization: `Bearer ${token}`, 'mcp-session-id': sessionId },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 7,
          method: 'tools/call',
          params: { name: 'probe__hang', arguments: {} },
        }),
      });
      expect(mcp.status).toBe(200);
      const mcpBody = readToEnd(mcp);

      hub.child.kill('SIGTERM');
      const { code, signal } = await hub.exit;
      expect({ code, signal }, hub.output()).toEqual({ code: 0, signal: null });
      expect(hub.output()).toContain('requests still in flight at the drain deadline');
      // Each caller got an answer that says the call failed, then the end of its stream.
      const restResult = await restBody;
      expect(restResult.ended).toBe(true);
      expect(restResult.text).toContain('event: error');
      const mcpResult = await mcpBody;
      expect(mcpResult.ended).toBe(true);
      expect(mcpResult.text).toContain('"id":7');
    } finally {
      if (hub.child.exitCode === null && hub.child.signalCode === null) hub.child.kill('SIGKILL');
      await probe.stop();
    }
  }, 60_000);
  it('a request arriving while the hub drains gets 503 HUB_ERR_SHUTTING_DOWN with Retry-After and Connection: close', async () => {
    const { probe, hub, base } = await serveWithProbe();
    try {
      // A call that never answers keeps the drain going; a GET stream shows when closing began.
      const call = await streamHangingCall(base);
      expect(call.status).toBe(200);
      const callEnded = readToEnd(call);
      const sessionId = await openRawSession(base, token);
      const stream = await fetch(`${base}/mcp`, {
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'text/event-stream',
          'mcp-session-id': sessionId,
        },
      });
      expect(stream.status).toBe(200);
      const streamEnded = readToEnd(stream);

      // A client midway through its request: the listener closing cannot turn it away.
      const late = await rawConnection(hub.port);
      late.socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${hub.port}\r\n`);
      hub.child.kill('SIGTERM');
      // The GET streams end once closing has begun.
      expect((await streamEnded).ended).toBe(true);
      late.socket.write('\r\n');
      await late.closed;

      const [head = '', body = ''] = late.received().split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 503 /);
      expect(head.toLowerCase()).toContain('\r\nretry-after: 5\r\n');
      expect(head.toLowerCase()).toContain('\r\nconnection: close\r\n');
      expect(head.toLowerCase()).toContain('\r\ncontent-type: application/json');
      expect(JSON.parse(body)).toEqual({
        code: 'HUB_ERR_SHUTTING_DOWN',
        message: 'The hub is shutting down; retry shortly',
      });

      // The call in flight was not refused: it ran on until the drain deadline failed it.
      const { code, signal } = await hub.exit;
      expect({ code, signal }, hub.output()).toEqual({ code: 0, signal: null });
      expect((await callEnded).text).toContain('event: error');
    } finally {
      if (hub.child.exitCode === null && hub.child.signalCode === null) hub.child.kill('SIGKILL');
      await probe.stop();
    }
  }, 60_000);
  it('a call that finishes within the drain answers normally; nothing is failed', async () => {
    const { probe, hub, base } = await serveWithProbe();
    try {
      const call = await fetch(`${base}/api/mcp/probe/tools/slow/call`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'text/event-stream',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ arguments: { ms: 1_500 } }),
      });
      expect(call.status).toBe(200);
      // The first progress event: the upstream is running the call.
      const reader = (call.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (!text.includes('event: progress')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      expect(text).toContain('event: progress');
      hub.child.kill('SIGTERM');
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        text += decoder.decode(chunk.value, { stream: true });
      }
      expect(text).toContain('event: result');
      expect(text).toContain('Slept 1500 ms');
      const { code, signal } = await hub.exit;
      expect({ code, signal }, hub.output()).toEqual({ code: 0, signal: null });
      expect(hub.output()).not.toContain('drain deadline');
    } finally {
      if (hub.child.exitCode === null && hub.child.signalCode === null) hub.child.kill('SIGKILL');
      await probe.stop();
    }
  }, 60_000);
});
