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
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startEverything } from '../test/peers/everything.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const WARMUP = 200;
const MAIN = path.resolve(import.meta.dirname, '../dist/main.js');
/** Linux clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat times. */
const TICKS_PER_SECOND = 100;

interface Sample {
  name: string;
  p50: number;
  p90: number;
  p99: number;
  callsPerSecond: number;
  /** The hub process's CPU per call; null for the direct path. */
  hubCpuPerCallMs: number | null;
  /** The upstream process's CPU per call: what one SDK-based MCP server spends on the same call. */
  upstreamCpuPerCallMs: number;
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

async function measure(
  name: string,
  pids: { hub: number | null; upstream: number },
  call: () => Promise<void>,
): Promise<Sample> {
  const hubPid = pids.hub;
  for (let i = 0; i < WARMUP; i++) await call();
  const latencies: number[] = [];
  const cpuStart = hubPid === null ? 0 : await cpuMs(hubPid);
  const upstreamStart = await cpuMs(pids.upstream);
  const wallStart = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    await call();
    latencies.push(performance.now() - t);
  }
  const wall = performance.now() - wallStart;
  const cpu = hubPid === null ? null : (await cpuMs(hubPid)) - cpuStart;
  const upstreamCpu = (await cpuMs(pids.upstream)) - upstreamStart;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    name,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    callsPerSecond: (CALLS / wall) * 1000,
    hubCpuPerCallMs: cpu === null ? null : cpu / CALLS,
    upstreamCpuPerCallMs: upstreamCpu / CALLS,
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
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
    const results = [
      await measure('direct (SDK client → upstream)', { hub: null, upstream: upstream.pid }, async () => {
        await direct.callTool({ name: 'echo', arguments: args });
      }),
      await measure(
        'via /mcp (SDK client → hub → upstream)',
        { hub: hubPid, upstream: upstream.pid },
        async () => {
          await viaHub.callTool({ name: 'everything__echo', arguments: args });
        },
      ),
      await measure(
        'via REST (fetch → hub → upstream)',
        { hub: hubPid, upstream: upstream.pid },
        async () => {
          const res = await fetch(`${base}/api/mcp/everything/tools/echo/call`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ arguments: args }),
          });
          await res.arrayBuffer();
        },
      ),
    ];
    const rss = await rssMiB(hubPid);
    await direct.close();
    await viaHub.close();
    console.log(
      `\nTool-call overhead, ${CALLS} sequential echo calls each (after ${WARMUP} warm-up calls)\n`,
    );
    console.log('| path | p50 ms | p90 ms | p99 ms | calls/s | hub CPU/call ms | upstream CPU/call ms |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of results) {
      const cpu = r.hubCpuPerCallMs === null ? '—' : r.hubCpuPerCallMs.toFixed(3);
      console.log(
        `| ${r.name} | ${r.p50.toFixed(2)} | ${r.p90.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.callsPerSecond.toFixed(0)} | ${cpu} | ${r.upstreamCpuPerCallMs.toFixed(3)} |`,
      );
    }
    console.log(`\nHub process RSS at the end: ${rss.toFixed(0)} MiB`);
  } finally {
    hub.kill('SIGTERM');
    await new Promise((resolve) => hub.once('exit', resolve));
    await rm(dataDir, { recursive: true, force: true });
    await upstream.stop();
  }
}

await main();
