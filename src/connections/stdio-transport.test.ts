import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdioCommand } from '../../test/peers/everything.js';
import { probeStdioCommand } from '../../test/peers/probe-stdio.js';
import { systemClock } from '../core/index.js';
import { createLogger } from '../observability/index.js';
import { ConnectionPool } from './connection-pool.js';
import { RESULT_TOO_LARGE_CODE } from './result-limit.js';
import { ProcessGroupStdioTransport, type SpawnFunction } from './stdio-transport.js';
import type { ConnectionOptions, UpstreamSpec } from './types.js';
import { textOf } from '../../test/support/mcp-helpers.js';
import { recordLogOutput } from '../../test/support/run-record.js';

/** Every JSON line the logger wrote during the current test. */
const logLines: string[] = [];
const logger = createLogger({
  level: 'debug',
  destination: {
    write: (line: string) => {
      logLines.push(line);
      recordLogOutput(line);
    },
  },
});
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  logLines.length = 0;
  spawned.length = 0;
});

const HUB_SECRETS = {
  JWT_SECRET: 'jwt-secret-canary',
  CREDENTIALS_KEY: 'credentials-key-canary',
  DATABASE_URL: 'postgres://canary@127.0.0.1/db',
  REDIS_URL: 'redis://canary@127.0.0.1:6379',
};
const saved: Record<string, string | undefined> = {};
beforeAll(() => {
  for (const [name, value] of Object.entries(HUB_SECRETS)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
});
afterAll(() => {
  for (const name of Object.keys(HUB_SECRETS)) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

const OPTIONS: ConnectionOptions = { initTimeoutMs: 15_000, requestTimeoutMs: 10_000, idleTimeoutMs: 0 };

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

/** Children the pools of the current test spawned, newest last. */
const spawned: ChildProcess[] = [];
const recordingSpawn: SpawnFunction = (command, args, options) => {
  const child = spawn(command, args, options);
  spawned.push(child);
  return child;
};

function pool(termGraceMs = 2_000): ConnectionPool {
  const created = new ConnectionPool({
    logger,
    hostEnv: process.env,
    spawn: recordingSpawn,
    stdio: { termGraceMs },
  });
  cleanups.push(() => created.close());
  return created;
}

function lastChildPid(): number {
  const pid = spawned.at(-1)?.pid;
  if (pid === undefined) throw new Error('nothing was spawned');
  return pid;
}

function stdioSpec(
  command: { command: string; args: string[] },
  env: Record<string, string> = {},
): UpstreamSpec {
  return { transport: 'stdio', command: command.command, args: command.args, env };
}

/** A transport around `node -e <script>`, closed after the test. */
function nodeScript(
  script: string,
  extra: Partial<ConstructorParameters<typeof ProcessGroupStdioTransport>[0]> = {},
) {
  const transport = new ProcessGroupStdioTransport({
    command: process.execPath,
    args: ['-e', script],
    env: { PATH: process.env.PATH ?? '' },
    logger,
    clock: systemClock,
    ...extra,
  });
  cleanups.push(() => transport.close());
  return transport;
}

describe('stdio child environment', () => {
  it('SX-05: the probe sees its config env plus PATH and HOME, and none of the hub’s secrets', async () => {
    const connection = await pool().acquire(
      'app|probe',
      'f1',
      stdioSpec(probeStdioCommand(), { PROBE_MARKER: 'm-1' }),
      OPTIONS,
    );
    const env = JSON.parse(textOf(await connection.callTool('get-env', {}))) as Record<string, string>;
    expect(env.PROBE_MARKER).toBe('m-1');
    expect(env.PATH).toBe(process.env.PATH);
    for (const name of Object.keys(HUB_SECRETS)) expect(env[name]).toBeUndefined();
    expect(
      Object.keys(env).every((name) =>
        ['PROBE_MARKER', 'PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR'].includes(name),
      ),
    ).toBe(true);
  });

  it('a secret the child was given and prints on stderr is masked in the hub’s log', async () => {
    const key = 'sk-probe-9f8e7d6c5b4a';
    const connection = await pool().acquire(
      'app|probe',
      'f1',
      stdioSpec(probeStdioCommand(), { PROBE_API_KEY: key }),
      OPTIONS,
    );
    expect(textOf(await connection.callTool('echo', { message: 'x' }))).toBe('Echo: x');
    const stderr = logLines.filter((line) => line.includes('upstream stderr'));
    expect(stderr.some((line) => line.includes('starting with api key [redacted]'))).toBe(true);
    expect(logLines.join('\n')).not.toContain(key);
  });

  it('server-everything’s get-env shows none of the hub’s secrets either', async () => {
    const connection = await pool().acquire(
      'app|everything',
      'f1',
      stdioSpec(everythingStdioCommand()),
      OPTIONS,
    );
    const text = textOf(await connection.callTool('get-env', {}));
    for (const value of Object.values(HUB_SECRETS)) expect(text).not.toContain(value);
    for (const name of Object.keys(HUB_SECRETS)) expect(text).not.toContain(name);
  });
});

describe('stdio arguments', () => {
  it('SX-03: arguments with shell syntax reach the program literally and run nothing', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sx03-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const canary = path.join(dir, 'canary');
    const hostile = [`; touch ${canary}`, `$(touch ${canary})`, `\`touch ${canary}\``, `| touch ${canary}`];
    const probe = probeStdioCommand();
    const connection = await pool().acquire(
      'app|probe',
      'f1',
      stdioSpec({ command: probe.command, args: [...probe.args, ...hostile] }),
      OPTIONS,
    );
    // The server started (its argv held the strings as plain words) and answers.
    expect(textOf(await connection.callTool('echo', { message: 'hi' }))).toContain('hi');
    const argv = readFileSync(`/proc/${lastChildPid()}/cmdline`, 'utf8').split('\0');
    expect(argv.slice(-hostile.length - 1, -1)).toEqual(hostile);
    expect(existsSync(canary)).toBe(false);
  });
});

describe('stdio process group', () => {
  it('SX-08: disconnect kills the child and its grandchild', async () => {
    const connections = pool();
    const connection = await connections.acquire('app|probe', 'f1', stdioSpec(probeStdioCommand()), OPTIONS);
    const { pid: grandchild } = JSON.parse(textOf(await connection.callTool('spawn-grandchild', {}))) as {
      pid: number;
    };
    cleanups.push(async () => {
      if (isAlive(grandchild)) process.kill(grandchild, 'SIGKILL');
    });
    const child = lastChildPid();
    expect(isAlive(child)).toBe(true);
    expect(isAlive(grandchild)).toBe(true);

    await connections.disconnect('app|probe');
    expect(isAlive(child)).toBe(false);
    await until(() => !isAlive(grandchild), 2_000);
    expect(connections.state('app|probe')).toBe('disconnected');
  });

  it('SX-09: a stubborn child (ignores stdin EOF and SIGTERM) and its grandchild die by SIGKILL after the grace', async () => {
    const connections = pool(500);
    const connection = await connections.acquire(
      'app|stubborn',
      'f1',
      stdioSpec(probeStdioCommand({ stubborn: true })),
      OPTIONS,
    );
    const { pid: grandchild } = JSON.parse(textOf(await connection.callTool('spawn-grandchild', {}))) as {
      pid: number;
    };
    cleanups.push(async () => {
      if (isAlive(grandchild)) process.kill(grandchild, 'SIGKILL');
    });
    const child = lastChildPid();
    const started = Date.now();
    await connections.disconnect('app|stubborn');
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(500);
    expect(took).toBeLessThan(3_000);
    expect(isAlive(child)).toBe(false);
    await until(() => !isAlive(grandchild), 2_000);
  });

  it('a child that exits by itself closes the transport, and its leftovers are killed', async () => {
    // Starts a grandchild in its group, then exits: the grandchild would be orphaned.
    const transport = nodeScript(
      `const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
       process.stdout.write(JSON.stringify({ jsonrpc: '2.0', method: 'grandchild', params: { pid: c.pid } }) + '\\n');
       setTimeout(() => process.exit(3), 200);`,
    );
    let closed = 0;
    let grandchild = 0;
    transport.onclose = () => (closed += 1);
    transport.onmessage = (message) => {
      if ('method' in message && message.method === 'grandchild')
        grandchild = (message.params as { pid: number }).pid;
    };
    await transport.start();
    await until(() => closed === 1);
    expect(grandchild).toBeGreaterThan(0);
    await until(() => !isAlive(grandchild), 2_000);
    await transport.close();
    expect(closed).toBe(1);
  });

  it('a command that does not exist fails start() and leaves nothing behind', async () => {
    const transport = new ProcessGroupStdioTransport({
      command: '/nonexistent/switchboard-no-such-binary',
      args: [],
      env: {},
      logger,
      clock: systemClock,
    });
    await expect(transport.start()).rejects.toMatchObject({ code: 'ENOENT' });
    await transport.close();
  });
});

describe('stdio framing', () => {
  it('SX-06: a stdout line over the bound is skipped up to its newline; the child and the lines after it live on', async () => {
    const after = JSON.stringify({ jsonrpc: '2.0', method: 'after' });
    const transport = nodeScript(
      `process.stdout.write('x'.repeat(64 * 1024) + '\\n' + ${JSON.stringify(after)} + '\\n'); setInterval(() => {}, 1e9);`,
      { maxLineBytes: 16 * 1024 },
    );
    const messages: JSONRPCMessage[] = [];
    const errors: Error[] = [];
    let closed = false;
    transport.onmessage = (message) => messages.push(message);
    transport.onerror = (error) => errors.push(error);
    transport.onclose = () => (closed = true);
    await transport.start();
    await until(() => messages.length > 0);
    expect(messages).toEqual([{ jsonrpc: '2.0', method: 'after' }]);
    expect(errors).toEqual([]);
    expect(closed).toBe(false);
    expect(isAlive(transport.pid!)).toBe(true);
    expect(logLines.some((line) => line.includes('oversized message that answers no known request'))).toBe(
      true,
    );
  });

  it('a result over the bound fails only its own request, with an error naming the limit', async () => {
    // Answers request 1 with 64 KiB and request 2 with a small result, 1 first (the SDK's key order).
    const script = `
      let buffered = '';
      process.stdin.on('data', (chunk) => {
        buffered += chunk;
        let newline;
        while ((newline = buffered.indexOf('\\n')) !== -1) {
          const { id } = JSON.parse(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
          const text = id === 1 ? 'x'.repeat(64 * 1024) : 'small';
          process.stdout.write(JSON.stringify({ result: { text }, jsonrpc: '2.0', id }) + '\\n');
        }
      });`;
    const transport = nodeScript(script, { maxLineBytes: 16 * 1024 });
    const messages: JSONRPCMessage[] = [];
    transport.onmessage = (message) => messages.push(message);
    await transport.start();
    await transport.send({ jsonrpc: '2.0', id: 1, method: 'big' });
    await transport.send({ jsonrpc: '2.0', id: 2, method: 'small' });
    await until(() => messages.length === 2);
    expect(messages[0]).toMatchObject({
      id: 1,
      error: {
        code: RESULT_TOO_LARGE_CODE,
        message: expect.stringContaining('16384-byte limit (maxResultBytes)'),
      },
    });
    expect(messages[1]).toEqual({ jsonrpc: '2.0', id: 2, result: { text: 'small' } });
    expect(isAlive(transport.pid!)).toBe(true);
  });

  it('SX-07: non-JSON lines are logged and tolerated up to a bound, then the transport closes', async () => {
    const transport = nodeScript(
      `for (let i = 0; i < 5; i++) process.stdout.write('banner ' + i + '\\n'); setInterval(() => {}, 1e9);`,
      { maxBadLines: 3 },
    );
    let closed = false;
    transport.onclose = () => (closed = true);
    await transport.start();
    await until(() => closed);
    expect(logLines.filter((line) => line.includes('non-JSON-RPC line')).length).toBeGreaterThanOrEqual(3);
  });

  it('splits messages across chunks and joins chunks into messages', async () => {
    const transport = nodeScript(
      `const m = (i) => JSON.stringify({ jsonrpc: '2.0', method: 'n' + i });
       process.stdout.write(m(1) + '\\n' + m(2).slice(0, 10));
       setTimeout(() => process.stdout.write(m(2).slice(10) + '\\r\\n' + m(3) + '\\n'), 50);
       setInterval(() => {}, 1e9);`,
    );
    const methods: string[] = [];
    transport.onmessage = (message) => {
      if ('method' in message) methods.push(message.method);
    };
    await transport.start();
    await until(() => methods.length === 3);
    expect(methods).toEqual(['n1', 'n2', 'n3']);
  });

  it('a lone request is written at once; requests sent while others are in flight leave in one write', async () => {
    // The child answers nothing until it has read three requests, so the first stays in flight.
    const writes: number[] = [];
    const countingSpawn: SpawnFunction = (command, args, options) => {
      const child = spawn(command, args, options);
      const stdin = child.stdin!;
      const write = stdin._write.bind(stdin);
      const writev = stdin._writev!.bind(stdin);
      stdin._write = (chunk, encoding, callback) => {
        writes.push(1);
        write(chunk, encoding, callback);
      };
      stdin._writev = (chunks, callback) => {
        writes.push(chunks.length);
        writev(chunks, callback);
      };
      return child;
    };
    const transport = nodeScript(
      `const ids = []; let rest = '';
       process.stdin.on('data', (chunk) => {
         const lines = (rest + chunk).split('\\n'); rest = lines.pop();
         for (const line of lines) ids.push(JSON.parse(line).id);
         if (ids.length < 3) return;
         for (const id of ids.splice(0)) process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id, result: {} }) + '\\n');
       });`,
      { spawn: countingSpawn },
    );
    const answered: unknown[] = [];
    transport.onmessage = (message) => {
      if ('result' in message) answered.push(message.id);
    };
    await transport.start();
    const request = (id: number): JSONRPCMessage => ({ jsonrpc: '2.0', id, method: 'ping' });
    const first = transport.send(request(1));
    await new Promise((resolve) => process.nextTick(resolve)); // before the turn's I/O callbacks
    expect(writes).toEqual([1]);
    await first;
    // Two separate callbacks of one turn of the event loop, as two HTTP requests read in one poll
    // would be (each callback is followed by its own nextTick queue).
    const sent = new Promise<void>((resolve) => {
      setImmediate(() => void transport.send(request(2)));
      setImmediate(() => void transport.send(request(3)).then(resolve));
    });
    await sent;
    expect(writes).toEqual([1, 2]);
    await until(() => answered.length === 3);
    expect(answered.sort()).toEqual([1, 2, 3]);
  });

  it('stderr lines reach the log truncated and rate-bounded', async () => {
    const transport = nodeScript(
      `process.stderr.write('E'.repeat(5000) + '\\n');
       for (let i = 0; i < 30; i++) process.stderr.write('line ' + i + '\\n');
       setInterval(() => {}, 1e9);`,
      { stderr: { maxLineBytes: 100, maxLinesPerWindow: 10, windowMs: 60_000 } },
    );
    await transport.start();
    await delay(300);
    await transport.close();
    const relayed = logLines
      .map((line) => JSON.parse(line) as { msg: string; stderr?: string; suppressedLines?: number })
      .filter((entry) => entry.msg.startsWith('upstream stderr'));
    const lines = relayed.filter((entry) => entry.stderr !== undefined);
    expect(lines).toHaveLength(10);
    expect(lines[0]!.stderr).toBe('E'.repeat(100));
    expect(relayed.find((entry) => entry.suppressedLines !== undefined)?.suppressedLines).toBe(21);
  });
});
