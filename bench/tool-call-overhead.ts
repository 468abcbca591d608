/**
 * `npm run bench`: what the hub adds to a tool call. One upstream (server-everything over streamable
 * HTTP, in its own process on 127.0.0.1), called N times with `echo`:
 *   1. directly with the SDK client,
 *   2. through the hub's aggregated `/mcp` endpoint,
 *   3. through the REST route `POST /api/mcp/:server/tools/:tool/call`.
 * Reports latency percentiles and this process's CPU per call; the hub's own CPU per call is
 * estimated as (CPU through the hub) − (CPU direct), since the client runs in the same process.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { AddressInfo } from 'node:net';
import { startEverything } from '../test/peers/everything.js';
import { startTestHub } from '../test/support/hub.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 1000);
const WARMUP = 100;

interface Sample {
  name: string;
  p50: number;
  p90: number;
  p99: number;
  cpuPerCallMs: number;
  callsPerSecond: number;
}

async function measure(name: string, call: () => Promise<void>): Promise<Sample> {
  for (let i = 0; i < WARMUP; i++) await call();
  const latencies: number[] = [];
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    await call();
    latencies.push(performance.now() - t);
  }
  const wall = performance.now() - wallStart;
  const cpu = process.cpuUsage(cpuStart);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return {
    name,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    cpuPerCallMs: (cpu.user + cpu.system) / 1000 / CALLS,
    callsPerSecond: (CALLS / wall) * 1000,
  };
}

async function sdkClient(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

async function main(): Promise<void> {
  const upstream = await startEverything('streamableHttp');
  const hub = await startTestHub({
    env: { LOG_LEVEL: 'warn' },
    yaml: `mcpServers:\n  everything:\n    type: streamable-http\n    url: ${upstream.url}\n`,
  });
  hub.logger.level = 'warn';
  try {
    await hub.startup.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    const token = await hub.userToken('bench@example.com');
    const direct = await sdkClient(upstream.url);
    const viaHub = await sdkClient(`${base}/mcp`, { authorization: `Bearer ${token}` });
    const args = { message: 'bench' };
    const results = [
      await measure('direct (SDK client → upstream)', async () => {
        await direct.callTool({ name: 'echo', arguments: args });
      }),
      await measure('via /mcp (SDK client → hub → upstream)', async () => {
        await viaHub.callTool({ name: 'everything__echo', arguments: args });
      }),
      await measure('via REST (fetch → hub → upstream)', async () => {
        const res = await fetch(`${base}/api/mcp/everything/tools/echo/call`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ arguments: args }),
        });
        await res.arrayBuffer();
      }),
    ];
    await direct.close();
    await viaHub.close();
    const base0 = results[0]!;
    console.log(
      `\nTool-call overhead, ${CALLS} sequential echo calls each (after ${WARMUP} warm-up calls)\n`,
    );
    console.log(
      '| path | p50 ms | p90 ms | p99 ms | calls/s | CPU/call ms (this process) | hub CPU/call ms (est.) |',
    );
    console.log('|---|---|---|---|---|---|---|');
    for (const r of results) {
      const hubCpu = r === base0 ? '—' : (r.cpuPerCallMs - base0.cpuPerCallMs).toFixed(3);
      console.log(
        `| ${r.name} | ${r.p50.toFixed(2)} | ${r.p90.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.callsPerSecond.toFixed(0)} | ${r.cpuPerCallMs.toFixed(3)} | ${hubCpu} |`,
      );
    }
    const rss = process.memoryUsage().rss / 1024 / 1024;
    console.log(`\nRSS of this process (client + hub) at the end: ${rss.toFixed(0)} MiB`);
  } finally {
    await hub.dispose();
    await upstream.stop();
  }
}

await main();
