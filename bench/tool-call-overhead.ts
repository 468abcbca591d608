/**
 * `npm run bench`: what the hub adds to a tool call. One upstream (server-everything over streamable
 * HTTP, in its own process on 127.0.0.1) and the hub as a user runs it (`node dist/main.js serve`,
 * its own process, default log level, embedded SQLite), called N times in sequence with `echo`:
 *   1. directly with the SDK client,
 *   2. through the hub's aggregated `/mcp` endpoint (SDK client),
 *   3. through the REST route `POST /api/mcp/:server/tools/:tool/call` (fetch).
 * Reports latency percentiles and the hub process's own CPU per call, read from /proc/<pid>/stat
 * before and after each run (Linux), so the client's CPU never counts; and the upstream's CPU per
 * call, the cost of one SDK-based MCP server answering the same call, for scale.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startEverything } from '../test/peers/everything.js';
import { freePort } from '../test/support/mcp-helpers.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP = 200;
const MAIN = path.resolve(import.meta.dirname, '../dist/main.js');
/** Linux clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat times. */
const TICKS_PER_SECOND = 100;

interface Path {
  name: string;
  /** The hub's pid, or null for the direct path. */
  hub: number | null;
  call: () => Promise<void>;
}

/** One run of one path. */
interface Run {
  latencies: number[];
  wallMs: number;
  hubCpuMs: number | null;
  upstreamCpuMs: number;
}

/** user + system CPU of a process so far, in ms. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function runOnce(path: Path, upstreamPid: number): Promise<Run> {
  const latencies: number[] = [];
  const hubStart = path.hub === null ? 0 : await cpuMs(path.hub);
  const upstreamStart = await cpuMs(upstreamPid);
  const wallStart = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    await path.call();
    latencies.push(performance.now() - t);
  }
  const wallMs = performance.now() - wallStart;
  return {
    latencies,
    wallMs,
    hubCpuMs: path.hub === null ? null : (await cpuMs(path.hub)) - hubStart,
    upstreamCpuMs: (await cpuMs(upstreamPid)) - upstreamStart,
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

/** A table row: latency percentiles over every run, CPU per call as the median run (min–max). */
function row(name: string, runs: Run[]): string {
  const latencies = runs.flatMap((r) => r.latencies).sort((x, y) => x - y);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const perCall = (values: number[]) => {
    const each = values.map((v) => v / CALLS);
    return `${median(each).toFixed(2)} (${Math.min(...each).toFixed(2)}–${Math.max(...each).toFixed(2)})`;
  };
  const hub = runs.every((r) => r.hubCpuMs === null) ? '—' : perCall(runs.map((r) => r.hubCpuMs ?? 0));
  const callsPerSecond = median(runs.map((r) => (CALLS / r.wallMs) * 1000));
  return `| ${name} | ${at(0.5).toFixed(2)} | ${at(0.9).toFixed(2)} | ${at(0.99).toFixed(2)} | ${callsPerSecond.toFixed(0)} | ${hub} | ${perCall(runs.map((r) => r.upstreamCpuMs))} |`;
}

async function sdkClient(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

async function waitUntilReady(base: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`${base}/readyz`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the hub did not become ready');
}

async function main(): Promise<void> {
  const upstream = await startEverything('streamableHttp');
  const dataDir = await mkdtemp(path.join(tmpdir(), 'switchboard-bench-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    DATA_DIR: dataDir,
    SWITCHBOARD_CONFIG: path.join(dataDir, 'switchboard.yaml'),
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: base,
  };
  await writeFile(
    env.SWITCHBOARD_CONFIG,
    `mcpServers:\n  everything:\n    type: streamable-http\n    url: ${upstream.url}\nmcpSettings:\n  allowedDomains: ['127.0.0.1']\n`,
  );
  const cli = promisify(execFile);
  await cli(process.execPath, [MAIN, 'users', 'add', 'bench@example.com'], { env });
  const token = (await cli(process.execPath, [MAIN, 'token', 'bench@example.com'], { env })).stdout.trim();
  // BENCH_PROFILE_DIR=<dir> writes the hub's V8 CPU profile there (open it in Chrome DevTools).
  const profile = process.env.BENCH_PROFILE_DIR
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
    : [];
  const hub = spawn(process.execPath, [...profile, MAIN, 'serve'], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const hubPid = hub.pid;
  if (hubPid === undefined) throw new Error('the hub did not start');
  try {
    await waitUntilReady(base);
    const direct = await sdkClient(upstream.url);
    const viaHub = await sdkClient(`${base}/mcp`, { authorization: `Bearer ${token}` });
    const args = { message: 'bench' };
    const paths: Path[] = [
      {
        name: 'direct (SDK client → upstream)',
        hub: null,
        call: async () => void (await direct.callTool({ name: 'echo', arguments: args })),
      },
      {
        name: 'via /mcp (SDK client → hub → upstream)',
        hub: hubPid,
        call: async () => void (await viaHub.callTool({ name: 'everything__echo', arguments: args })),
      },
      {
        name: 'via REST (fetch → hub → upstream)',
        hub: hubPid,
        call: async () => {
          const res = await fetch(`${base}/api/mcp/everything/tools/echo/call`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ arguments: args }),
          });
          await res.arrayBuffer();
        },
      },
    ];
    for (const path of paths) for (let i = 0; i < WARMUP; i++) await path.call();
    // Rounds interleave the paths, so a noisy moment on the machine does not land on one path only.
    const runs = new Map<Path, Run[]>(paths.map((p) => [p, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const path of paths) runs.get(path)?.push(await runOnce(path, upstream.pid));
    }
    const rss = await rssMiB(hubPid);
    await direct.close();
    await viaHub.close();
    console.log(
      `\nTool-call overhead: ${ROUNDS} rounds of ${CALLS} sequential echo calls per path (after ${WARMUP} warm-up calls)\n`,
    );
    console.log(
      '| path | p50 ms | p90 ms | p99 ms | calls/s | hub CPU/call ms, median (min–max) | upstream CPU/call ms |',
    );
    console.log('|---|---|---|---|---|---|---|');
    for (const path of paths) console.log(row(path.name, runs.get(path) ?? []));
    console.log(`\nHub process RSS at the end: ${rss.toFixed(0)} MiB`);
  } finally {
    hub.kill('SIGTERM');
    await new Promise((resolve) => hub.once('exit', resolve));
    await rm(dataDir, { recursive: true, force: true });
    await upstream.stop();
  }
}

await main();
